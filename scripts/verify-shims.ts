/**
 * Checks, inside workerd (Miniflare, with wrangler.toml's compatibility date and flags), that every module alias in
 * build/shims/aliases.json gives the Worker what the real module gives it:
 *   - core-js/modules/* (global polyfills, aliased to an empty module): loading the real ones changes no global that
 *     the Worker could see, beyond the changes listed in EXPECTED_GLOBAL_CHANGES (each explained there);
 *   - core-js-pure entries: the shim's value is the real entry's value, or (constructors core-js-pure wraps or
 *     re-implements) behaves the same on the cases below;
 *   - xml2js: the shim parses every sample to the same result as the real xml2js.
 *
 *   npx tsx scripts/verify-shims.ts            exits 1 on any mismatch, naming it (npm run check:shims)
 *   npx tsx scripts/verify-shims.ts --verbose  also lists every expected difference it checked
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';

const ROOT = join(import.meta.dirname, '..');
const aliases: Record<string, string> = JSON.parse(readFileSync(join(ROOT, 'build/shims/aliases.json'), 'utf8'));
const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
const compatibilityDate = toml.match(/^compatibility_date\s*=\s*"([^"]+)"/m)?.[1];
const compatibilityFlags = JSON.parse(toml.match(/^compatibility_flags\s*=\s*(\[.*\])/m)?.[1] ?? '[]') as string[];
if (!compatibilityDate) throw new Error('no compatibility_date in wrangler.toml');

/**
 * Global changes the real modules make in workerd, and why dropping them changes nothing for the Worker. Keys are
 * paths as the snapshot names them (g = globalThis); a trailing * matches a subtree.
 */
const EXPECTED_GLOBAL_CHANGES: Record<string, string> = {
  'g.__core-js_shared__*': "core-js's private store (versions, well-known symbol cache, internal state)",
  'g.Function.prototype.toString':
    'core-js (global build) replaces it with a wrapper that returns the same source text for every function it did not itself redefine; the shims redefine none',
  'g.Function.prototype.Symbol(Symbol.metadata)':
    "core-js-pure's features/symbol sets Function.prototype[Symbol.metadata] = null (decorator-metadata proposal); no code in the Worker uses decorators",
  'g.self': "core-js's web.self redefines `self` as an own property whose value is globalThis; workerd's `self` is already globalThis",
};

const SAMPLES_XML = [
  '<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload"><id>750x0000000005LAAQ</id><operation>query</operation><object>Contact</object><state>JobComplete</state><numberRecordsProcessed>12</numberRecordsProcessed></jobInfo>',
  '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_SESSION_ID</faultcode><faultstring>INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session</faultstring><detail><sf:UnexpectedErrorFault xsi:type="sf:UnexpectedErrorFault"><sf:exceptionCode>INVALID_SESSION_ID</sf:exceptionCode><sf:exceptionMessage>Invalid Session ID</sf:exceptionMessage></sf:UnexpectedErrorFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>',
  '<Errors><Error><errorCode>REQUEST_LIMIT_EXCEEDED</errorCode><message>TotalRequests Limit exceeded.</message></Error><Error><errorCode>X</errorCode><message>a &amp; b &lt;c&gt; &#233;</message></Error></Errors>',
  '<r a="1" b="two"><empty/><t>  padded  </t><c><![CDATA[<raw> & stuff]]></c><m>text<i>inner</i>tail</m><list><x>1</x><x>2</x><x>3</x></list></r>',
  '<unclosed><a></unclosed>',
  'not xml at all',
  '',
];

function harnessSource(): string {
  const entries = Object.entries(aliases);
  const lines: string[] = [];
  lines.push(`const SPECS = ${JSON.stringify(entries.map(([k]) => k))};`);
  lines.push(`const EXPECTED = ${JSON.stringify(Object.keys(EXPECTED_GLOBAL_CHANGES))};`);
  lines.push(`const SAMPLES_XML = ${JSON.stringify(SAMPLES_XML)};`);
  // Static requires (esbuild bundles them lazily: each module runs when its require runs).
  lines.push('function loadShims() { const m = {};');
  for (const [k, v] of entries) lines.push(`  m[${JSON.stringify(k)}] = require(${JSON.stringify(join(ROOT, v))});`);
  lines.push('  return m; }');
  lines.push('function loadReal() { const m = {};');
  for (const [k] of entries) lines.push(`  m[${JSON.stringify(k)}] = require(${JSON.stringify(k)});`);
  lines.push('  return m; }');
  lines.push(HARNESS);
  return lines.join('\n');
}

/** The Worker that runs the comparisons (plain JS; runs in workerd). */
const HARNESS = String.raw`
function snapshot() {
  const out = new Map();
  const seen = new Set();
  const visit = (obj, path, depth) => {
    if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function') || seen.has(obj)) return;
    seen.add(obj);
    for (const key of Reflect.ownKeys(obj)) {
      let d;
      try { d = Object.getOwnPropertyDescriptor(obj, key); } catch { continue; }
      if (!d) continue;
      const p = path + '.' + String(key);
      out.set(p, 'value' in d ? ['v', d.value] : ['a', d.get, d.set]);
      if (depth < 2 && 'value' in d) visit(d.value, p, depth + 1);
    }
  };
  visit(globalThis, 'g', 0);
  return out;
}
const same = (a, b) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
const expected = (p) => EXPECTED.some((e) => e.endsWith('*') ? p.startsWith(e.slice(0, -1)) : p === e);

function norm(spec) {
  const m = spec.match(/^core-js-pure\/(?:stable|features|actual|full|es)\/(.+?)(?:\/index)?(?:\.js)?$/);
  return m ? m[1] : null;
}
const show = (v) => { try { return typeof v === 'string' ? JSON.stringify(v) : typeof v === 'symbol' ? v.toString() : typeof v === 'function' ? 'function ' + v.name : JSON.stringify(v); } catch { return String(v); } };

function sampleReceivers() {
  const own = { includes: () => 'own', keys: () => 'own', map: () => 'own', bind: () => 'own', push: () => 'own' };
  function fn(a, b) { return [this, a, b]; }
  return [[1, 2, 3], [], 'abc', '', fn, own, new Uint8Array(2), Object.create([]), Array.prototype, String.prototype, Function.prototype, { length: 0 }, 7, true, Symbol.iterator];
}

function checkInstance(name, real, shim, fail) {
  for (const it of sampleReceivers()) {
    let r, s, re, se;
    try { r = real(it); } catch (e) { re = e; }
    try { s = shim(it); } catch (e) { se = e; }
    if (re || se) {
      if (!(re && se && re.constructor === se.constructor)) fail(name + ' on ' + show(it) + ': real ' + (re ? 'throws ' + re : show(r)) + ', shim ' + (se ? 'throws ' + se : show(s)));
    } else if (r !== s) fail(name + ' on ' + show(it) + ': real gives ' + show(r) + ', shim gives ' + show(s));
  }
  for (const it of [null, undefined]) {
    let re, se;
    try { real(it); } catch (e) { re = e; }
    try { shim(it); } catch (e) { se = e; }
    if (!re !== !se) fail(name + ' on ' + it + ': real ' + (re ? 'throws' : 'returns') + ', shim ' + (se ? 'throws' : 'returns'));
  }
}

async function checkBehaviour(name, real, shim, fail) {
  const eq = (what, a, b) => { const x = JSON.stringify(a), y = JSON.stringify(b); if (x !== y) fail(name + ' ' + what + ': real ' + x + ', shim ' + y); };
  switch (name) {
    case 'promise': {
      if (real.prototype !== shim.prototype) fail('promise: different prototypes');
      const p = new real((r) => r(1));
      if (!(p instanceof shim)) fail('promise: new real() is not a native promise');
      eq('resolve/all', await real.all([real.resolve(1), 2, new real((r) => setTimeout(() => r(3), 1))]), await shim.all([shim.resolve(1), 2, new shim((r) => setTimeout(() => r(3), 1))]));
      eq('reject', await real.reject(new Error('x')).catch((e) => e.message), await shim.reject(new Error('x')).catch((e) => e.message));
      break;
    }
    case 'symbol': {
      if (real.prototype !== shim.prototype) fail('symbol: different prototypes');
      for (const k of Reflect.ownKeys(shim)) if (typeof shim[k] === 'symbol' && real[k] !== shim[k]) fail('symbol: Symbol.' + String(k) + ' differs');
      for (const k of ['iterator', 'asyncIterator', 'toPrimitive', 'toStringTag', 'hasInstance', 'species']) if (real[k] !== shim[k]) fail('symbol: Symbol.' + k + ' differs');
      if (typeof real('d') !== 'symbol' || real('d').description !== shim('d').description) fail('symbol: call differs');
      if (real.for('k') !== shim.for('k') || real.keyFor(shim.for('k')) !== 'k') fail('symbol: registry differs');
      break;
    }
    case 'map': case 'set': {
      const isMap = name === 'map';
      const init = isMap ? [['a', 1], ['b', 2], [NaN, 3], [0, 4]] : ['a', 'b', NaN, 0, 'a'];
      const r = new real(init), s = new shim(init);
      const ops = (c) => {
        const log = [];
        log.push(c.size, c.has('a'), c.has(NaN), c.has(-0), isMap ? c.get('b') : null);
        isMap ? c.set('c', 5).set(-0, 6) : c.add('c').add(-0);
        log.push(c.delete('a'), c.delete('zz'), c.size);
        c.forEach((v, k) => log.push([String(k), String(v)]));
        log.push([...c.keys()].map(String), [...c.values()].map(String), [...c.entries()].map((e) => e.map(String)), [...c].length);
        log.push(Object.prototype.toString.call(c));
        c.clear();
        log.push(c.size);
        return log;
      };
      eq('operations', ops(r), ops(s));
      break;
    }
    case 'url': {
      const cases = [['https://login.salesforce.com'], ['https://test.salesforce.com/services/oauth2/token'], ['http://127.0.0.1:8787'], ['https://acme.my.salesforce.com/'],
        ['/services/data/v62.0/jobs/query/750x?locator=abc&maxRecords=2000', 'https://acme.my.salesforce.com'], ['/services/oauth2/authorize', 'https://login.salesforce.com/'],
        ['https://user:pw@EXAMPLE.com:443/a/../b/./c?q=1 2&r=é#frag'], ['https://тест/path'], ['relative', 'https://a.b/c/d'], ['http://[::1]:8080/x'], ['not a url']];
      const view = (U, args) => { try { const u = new U(...args); return [u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash, [...u.searchParams], u.toString(), u.toJSON(), JSON.stringify(u)]; } catch (e) { return ['throws', e.constructor.name]; } };
      for (const c of cases) eq(JSON.stringify(c), view(real, c), view(shim, c));
      const r = new real('https://a.b/p?x=1'), s = new shim('https://a.b/p?x=1');
      for (const u of [r, s]) { u.pathname = '/q r'; u.searchParams.append('y', 'a b&c'); u.hash = 'h'; u.host = 'c.d:81'; }
      eq('mutations', r.href, s.href);
      break;
    }
    case 'url-search-params': {
      const inputs = ['a=1&b=2&a=3', '?x=%20y+z&=e&f', [['k', 'v'], ['k', 'w']], { a: '1', b: 'two words' }, ''];
      const view = (U, i) => { const p = new U(i); p.append('n', 'é &'); p.sort(); return [p.toString(), [...p], p.getAll('a'), p.has('k'), p.get('zz'), p.size]; };
      for (const i of inputs) eq(JSON.stringify(i), view(real, i), view(shim, i));
      break;
    }
    case 'json/stringify': {
      const vals = [{ a: [1, 'x', null, undefined, () => 1, Symbol('s')], [Symbol('k')]: 1, d: new Date(0), u: '\uD800', n: NaN }, 'str', undefined, Symbol('x'), [undefined]];
      for (const v of vals) eq('value', [real(v), real(v, null, 2), real(v, ['a'])], [shim(v), shim(v, null, 2), shim(v, ['a'])]);
      break;
    }
    case 'set-timeout': case 'set-interval': {
      const run = (f) => new Promise((resolve) => { const id = f((a, b) => { if (name === 'set-interval') clearInterval(id); resolve([a, b]); }, 1, 'x', 'y'); });
      eq('callback args', await run(real), await run(shim));
      break;
    }
    case 'get-iterator-method': {
      const its = [[1], 'ab', new Map([[1, 2]]), new Set([1]), (function () { return arguments; })(1, 2), { '@@iterator': function () { return [][Symbol.iterator](); } }, {}, 5];
      for (const it of its) { const r = real(it), s = shim(it); if (r !== s) fail('get-iterator-method on ' + show(it) + ': real ' + show(r) + ', shim ' + show(s)); }
      break;
    }
    case 'object/create': case 'object/define-property': case 'object/define-properties': case 'object/get-own-property-descriptor': {
      // core-js-pure exports a function that calls the native Object method: same results, same errors.
      const proto = { p: 1 };
      const argLists = {
        'object/create': () => [[proto], [null], [proto, { a: { value: 1, enumerable: true }, b: { get() { return 2; } } }], [1], [undefined]],
        'object/define-property': () => [[{}, 'a', { value: 1 }], [{}, 'b', { get() { return 2; }, configurable: true }], [[], 'length', { value: 0 }], [Object.freeze({}), 'x', { value: 1 }], [1, 'x', { value: 1 }], [{}, Symbol.for('s'), { value: 3, writable: true }]],
        'object/define-properties': () => [[{}, { a: { value: 1 }, b: { value: 2, enumerable: true } }], [Object.freeze({}), { a: { value: 1 } }], [1, {}]],
        'object/get-own-property-descriptor': () => [[{ a: 1 }, 'a'], [{ get b() { return 1; } }, 'b'], [[1], 'length'], ['str', 'length'], [{}, 'none'], [null, 'a']],
      }[name];
      const outcome = (f, args) => {
        try {
          const v = f(...args);
          const target = args[0];
          if (v === target) return ['returns target', Reflect.ownKeys(v).map((k) => [String(k), Object.getOwnPropertyDescriptor(v, k)])];
          if (v && typeof v === 'object') return ['object', Object.getPrototypeOf(v) === proto, Reflect.ownKeys(v).map((k) => [String(k), typeof v[k] === 'function' ? 'fn' : v[k], Object.getOwnPropertyDescriptor(v, k)?.enumerable])];
          return ['value', v];
        } catch (e) { return ['throws', e.constructor.name]; }
      };
      const describe = (o) => JSON.stringify(o, (k, v) => (typeof v === 'function' ? 'fn' : v));
      const rs = argLists().map((a) => describe(outcome(real, a)));
      const ss = argLists().map((a) => describe(outcome(shim, a)));
      rs.forEach((r, i) => { if (r !== ss[i]) fail(name + ' case ' + i + ': real ' + r + ', shim ' + ss[i]); });
      break;
    }
    default:
      fail(name + ': differs from the real entry and has no behavioural check');
  }
}

export default {
  async fetch() {
    const failures = [];
    const notes = [];
    const fail = (m) => failures.push(m);
    const shims = loadShims();
    // Properties whose descriptor differs between two reads with nothing loaded in between (workerd materialises some
    // lazily, e.g. navigator.languages): not evidence of anything.
    const baseline = snapshot();
    const before = snapshot();
    const unstable = new Set([...before].filter(([k, v]) => !baseline.has(k) || !same(baseline.get(k), v)).map(([k]) => k));
    const real = loadReal();
    const after = snapshot();

    // 1. Global side effects of the real modules.
    const changes = [];
    for (const [k, v] of after) { const b = before.get(k); if (!b) changes.push('added ' + k); else if (!same(b, v)) changes.push('changed ' + k); }
    for (const k of before.keys()) if (!after.has(k)) changes.push('removed ' + k);
    for (const c of changes) { const p = c.slice(c.indexOf(' ') + 1); if (unstable.has(p)) notes.push('ignored (differs between two reads anyway): ' + c); else if (expected(p)) notes.push('expected global change: ' + c); else fail('unexplained global change by the real modules: ' + c); }

    // 2. Each alias.
    for (const spec of SPECS) {
      const r = real[spec], s = shims[spec];
      if (spec.startsWith('core-js/modules/')) continue; // side effects only: covered by 1
      if (spec === 'xml2js') continue; // below
      const name = norm(spec);
      if (name === null) { fail('no check for ' + spec); continue; }
      if (name.startsWith('instance/')) { checkInstance(spec, r, s, fail); continue; }
      if (r === s) continue;
      notes.push(spec + ': not the same value as core-js-pure (' + show(r) + ' vs ' + show(s) + '), checked by behaviour');
      try { await checkBehaviour(name, r, s, (m) => fail(spec + ': ' + m)); } catch (e) { fail(spec + ': check threw ' + (e && e.stack || e)); }
    }

    // 3. xml2js: the shim against the real package.
    if (SPECS.includes('xml2js')) {
      const r = real['xml2js'], s = shims['xml2js'];
      for (const k of Object.keys(r)) if (k !== 'Builder' && r[k] !== s[k] && k !== 'ValidationError') fail('xml2js.' + k + ' differs');
      if (!(new s.ValidationError('m') instanceof Error) || new s.ValidationError('m').message !== 'm') fail('xml2js.ValidationError differs');
      for (const opts of [{ explicitArray: false }, {}, { explicitArray: false, explicitRoot: false, mergeAttrs: true }]) {
        for (const xml of SAMPLES_XML) {
          const run = (x) => x.parseStringPromise(xml, opts).then((v) => JSON.stringify(v), (e) => 'rejects: ' + e.message);
          const [a, b] = [await run(r), await run(s)];
          if (a !== b) fail('xml2js.parseStringPromise(' + JSON.stringify(xml.slice(0, 40)) + ', ' + JSON.stringify(opts) + '): real ' + a + ', shim ' + b);
        }
      }
      const cb = await new Promise((res) => s.parseString('<a>1</a>', (err, v) => res(JSON.stringify([err, v]))));
      if (cb !== '[null,{"a":"1"}]') fail('xml2js.parseString callback: ' + cb);
    }
    return Response.json({ checked: SPECS.length, failures, notes });
  },
};
`;

const nodeBuiltins: Plugin = {
  name: 'node-builtins',
  setup(b) {
    const names = new Set(builtinModules);
    b.onResolve({ filter: /^[a-z_]+$/ }, (args) => (names.has(args.path) ? { path: `node:${args.path}`, external: true } : undefined));
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, external: true }));
  },
};

const bundled = await build({
  stdin: { contents: harnessSource(), resolveDir: ROOT, sourcefile: 'verify-shims-harness.js', loader: 'js' },
  absWorkingDir: ROOT,
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'browser',
  target: 'es2024',
  conditions: ['workerd', 'worker', 'browser'],
  plugins: [nodeBuiltins],
  // CommonJS code (xml2js, sax) requires Node built-ins; workerd's nodejs_compat provides them through createRequire.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire('/verify-shims-harness.js');" },
  logLevel: 'error',
});
const mf = new Miniflare(convertV4MiniflareOptions({ modules: true, script: bundled.outputFiles[0]!.text, compatibilityDate, compatibilityFlags }));
try {
  const res = await mf.dispatchFetch('http://verify.local/');
  const text = await res.text();
  let report: { checked: number; failures: string[]; notes: string[] };
  try {
    report = JSON.parse(text);
  } catch {
    console.error(`harness failed (${res.status}):\n${text}`);
    process.exit(1);
  }
  if (process.argv.includes('--verbose')) for (const n of report.notes) console.log(`note: ${n}`);
  for (const f of report.failures) console.error(`FAIL: ${f}`);
  console.log(`${report.checked} aliases checked in workerd (compatibility_date ${compatibilityDate}, flags ${compatibilityFlags.join(',') || 'none'}): ${report.failures.length} failures`);
  process.exitCode = report.failures.length ? 1 : 0;
} finally {
  await mf.dispose();
}
