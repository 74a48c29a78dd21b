-- API tokens carry scopes (events, read, admin; comma-separated, see hookline-core's scope
-- module). Tokens made before scopes existed could do everything, so they become `admin`: no
-- running integration breaks. The check keeps anything but those words out of the column.
alter table api_tokens add column scopes text not null default 'admin'
    check (scopes <> '' and trim(replace(replace(replace(scopes, 'events', ''), 'read', ''), 'admin', ''), ',') = '');
