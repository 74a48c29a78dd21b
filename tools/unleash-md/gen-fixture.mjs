// Turns Hookline's markdown cases into the differential-test fixture: for each case, the text
// Unleash 7.5.1's own webhook addon puts in `eventMarkdown`.
//
//   node gen-fixture.mjs [CASES] [FIXTURE]
//
// CASES   defaults to ../../core/tests/fixtures/unleash-markdown-cases.json
//         (written by `cargo run -p hookline-core --example unleash_markdown_cases`)
// FIXTURE defaults to ../../core/tests/fixtures/unleash-markdown.json
//
// Each case is {name, unleashUrl, event}; each fixture entry adds `markdown`. When Unleash's
// formatter throws (then Unleash sends no webhook at all), `markdown` is null and `error` holds the
// message.
//
// Next to FIXTURE it also writes unleash-webhook-events.json: the event types the webhook addon
// offers (its definition's `events`, in Unleash's order), which Hookline's catalog test compares
// with the catalog, and unleash-formatter-events.json: every type the markdown formatter has its
// own sentence for (the keys of its EVENT_MAP), which the catalog's further types must equal.
//
// The text is taken end to end: the real `Webhook` addon class is built with `unleashUrl` (as
// Unleash's addon service does with `server.unleashUrl`) and its `handleEvent` renders the body
// template `{{eventMarkdown}}`; the HTTP call is replaced by a stub that keeps the body. As a cross
// check the result must equal `new FeatureEventFormatterMd({unleashUrl}).format(event).text`, which
// is what webhook.js assigns to `eventMarkdown`.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const casesPath = resolve(process.argv[2] ?? resolve(here, '../../core/tests/fixtures/unleash-markdown-cases.json'));
const fixturePath = resolve(process.argv[3] ?? resolve(here, '../../core/tests/fixtures/unleash-markdown.json'));

// unleash-server's package.json only exports its server entry point (not even package.json), so
// the package is found by path and its addon modules are loaded by file URL, which the `exports`
// map does not restrict.
const packageRoot = resolve(here, 'node_modules/unleash-server');
const { version } = JSON.parse(readFileSync(resolve(packageRoot, 'package.json'), 'utf8'));
if (version !== '7.5.1') {
    throw new Error(`expected unleash-server 7.5.1, found ${version}: run npm ci in ${here}`);
}
const addons = resolve(packageRoot, 'dist/lib/addons');
const { default: Webhook } = await import(pathToFileURL(resolve(addons, 'webhook.js')).href);
const { default: webhookDefinition } = await import(pathToFileURL(resolve(addons, 'webhook-definition.js')).href);
const { EVENT_MAP } = await import(pathToFileURL(resolve(addons, 'feature-event-formatter-md-events.js')).href);
const { FeatureEventFormatterMd } = await import(
    pathToFileURL(resolve(addons, 'feature-event-formatter-md.js')).href
);

const quietLogger = { debug() {}, info() {}, warn() {}, error() {}, fatal() {} };

/** The webhook addon as Unleash's addon service builds it, with its outside world stubbed. */
function webhookFor(unleashUrl) {
    const webhook = new Webhook({
        unleashUrl,
        getLogger: () => quietLogger,
        integrationEventsService: { registerEvent: async () => {} },
        flagResolver: { isEnabled: () => false },
        eventBus: { emit() {} },
    });
    webhook.sent = [];
    webhook.fetchRetry = async (url, options) => {
        webhook.sent.push(options.body);
        return { ok: true, status: 200 };
    };
    return webhook;
}

async function eventMarkdown(webhook, event) {
    webhook.sent.length = 0;
    const parameters = { url: 'http://receiver.invalid/hook', bodyTemplate: '{{eventMarkdown}}', contentType: 'text/plain' };
    await webhook.handleEvent(structuredClone(event), parameters, 1);
    if (webhook.sent.length !== 1) {
        throw new Error(`the webhook sent ${webhook.sent.length} requests`);
    }
    return webhook.sent[0];
}

const cases = JSON.parse(readFileSync(casesPath, 'utf8'));
const webhooks = new Map();
const fixture = [];
let errors = 0;
for (const { name, unleashUrl, event } of cases) {
    if (!webhooks.has(unleashUrl)) webhooks.set(unleashUrl, webhookFor(unleashUrl));
    const entry = { name, unleashUrl, event, markdown: null };
    try {
        entry.markdown = await eventMarkdown(webhooks.get(unleashUrl), event);
        const direct = new FeatureEventFormatterMd({ unleashUrl }).format(structuredClone(event)).text;
        if (direct !== entry.markdown) {
            throw new Error(`${name}: addon body ${JSON.stringify(entry.markdown)} != formatter ${JSON.stringify(direct)}`);
        }
    } catch (error) {
        if (entry.markdown !== null) throw error;
        entry.error = `${error.name}: ${error.message}`;
        errors += 1;
    }
    fixture.push(entry);
}

writeFileSync(fixturePath, `${JSON.stringify(fixture, null, 2)}\n`);
const eventsPath = resolve(dirname(fixturePath), 'unleash-webhook-events.json');
writeFileSync(eventsPath, `${JSON.stringify(webhookDefinition.events, null, 2)}\n`);
const formatterPath = resolve(dirname(fixturePath), 'unleash-formatter-events.json');
writeFileSync(formatterPath, `${JSON.stringify(Object.keys(EVENT_MAP), null, 2)}\n`);
console.log(
    `unleash-server ${version}: ${fixture.length} cases (${errors} where Unleash's formatter throws) written to ${fixturePath}`,
);
console.log(`${webhookDefinition.events.length} webhook event types written to ${eventsPath}`);
