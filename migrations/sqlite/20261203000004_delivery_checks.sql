-- The delivery states, Unleash states, attempt triggers and error classes are enums in the code
-- (hookline_core::delivery); these checks make a wrong word impossible to store, whatever writes
-- it (a typo in a SQL literal, a hand-edited row, a future backend port).
--
-- SQLite cannot add a CHECK constraint to an existing table; rebuilding `deliveries` would run the
-- ON DELETE CASCADE of its attempts when the old table is dropped. Triggers give the same
-- guarantee without touching the rows. (The PostgreSQL schema uses real CHECK constraints.)

create trigger deliveries_insert_check before insert on deliveries
when new.state not in ('pending', 'retrying', 'succeeded', 'failed')
  or new.unleash_state not in ('success', 'failed', 'successWithErrors')
  or new.next_trigger not in ('scheduled', 'manual', 'test')
  or new.last_error_class not in ('dns', 'connect', 'timeout', 'tls', 'blocked', 'redirect', 'http', 'render')
begin
  select raise(abort, 'deliveries: state, unleash_state, next_trigger or last_error_class is not one of its words');
end;

create trigger deliveries_update_check before update of state, unleash_state, next_trigger, last_error_class on deliveries
when new.state not in ('pending', 'retrying', 'succeeded', 'failed')
  or new.unleash_state not in ('success', 'failed', 'successWithErrors')
  or new.next_trigger not in ('scheduled', 'manual', 'test')
  or new.last_error_class not in ('dns', 'connect', 'timeout', 'tls', 'blocked', 'redirect', 'http', 'render')
begin
  select raise(abort, 'deliveries: state, unleash_state, next_trigger or last_error_class is not one of its words');
end;

create trigger attempts_insert_check before insert on attempts
when new.trigger not in ('scheduled', 'manual', 'test')
  or new.error_class not in ('dns', 'connect', 'timeout', 'tls', 'blocked', 'redirect', 'http', 'render')
begin
  select raise(abort, 'attempts: trigger or error_class is not one of its words');
end;
