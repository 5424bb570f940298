/** The one stylesheet (inline, nonce'd). System fonts; colours pass WCAG AA contrast on white. */
export const CSS = `
:root{--fg:#1a1f29;--muted:#4b5565;--line:#d5dae1;--bg:#fff;--soft:#f4f6f8;--accent:#1d4ed8;--accent2:#b45309;--accent3:#047857;--bad:#b91c1c;--good:#047857}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,summary:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:6px;z-index:9}
header{display:flex;flex-wrap:wrap;gap:8px 18px;align-items:center;padding:10px 16px;background:#0f172a;color:#fff}
header nav{display:flex;flex-wrap:wrap;gap:4px 16px}header a{color:#e2e8f0;text-decoration:none;padding:4px 2px}header a[aria-current=page]{color:#fff;border-bottom:2px solid #f59e0b}
header .brand{font-weight:700;color:#fff;margin-right:8px}header .who{margin-left:auto;font-size:13px;color:#cbd5e1;display:flex;gap:8px;align-items:center}
header form{display:inline}header button{background:none;border:1px solid #64748b;color:#e2e8f0;border-radius:4px;padding:2px 8px;cursor:pointer}
main{padding:16px;max-width:1280px;margin:0 auto}
h1{font-size:22px;margin:4px 0 12px}h2{font-size:18px;margin:24px 0 8px}h3{font-size:15px;margin:16px 0 6px}
.muted{color:var(--muted)}.small{font-size:13px}
.grid{display:grid;gap:12px;grid-template-columns:repeat(auto-fit,minmax(min(220px,45%),1fr))}
.card{border:1px solid var(--line);border-radius:8px;padding:12px;background:var(--bg)}
.kpi .v{font-size:24px;font-weight:700}.kpi .l{color:var(--muted);font-size:13px}
.table-wrap{position:relative;overflow-x:auto;margin:8px 0;border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%;font-size:14px}caption{text-align:left;padding:8px 10px;font-weight:600}
th,td{padding:6px 10px;border-top:1px solid var(--line);text-align:left;vertical-align:top}th{background:var(--soft);font-weight:600}
td:first-child{white-space:nowrap}td.wrap{white-space:normal}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
form.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-end;background:var(--soft);padding:10px;border-radius:8px}
label{display:flex;flex-direction:column;font-size:13px;color:var(--muted);gap:2px}label.inline{flex-direction:row;align-items:center;gap:6px;color:var(--fg)}
input,select,textarea{font:inherit;padding:5px 7px;border:1px solid #8a94a3;border-radius:4px;color:var(--fg);background:#fff}
textarea{width:100%;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
button,.btn{font:inherit;padding:6px 12px;border-radius:4px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#fff;color:var(--accent)}button.danger{background:var(--bad);border-color:var(--bad)}
.actions{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;background:var(--soft);border:1px solid var(--line)}
.badge.yes{background:#dcfce7;border-color:#86efac;color:#14532d}.badge.no{background:#f1f5f9}.badge.warn{background:#fef3c7;border-color:#fcd34d;color:#78350f}.badge.bad{background:#fee2e2;border-color:#fca5a5;color:#7f1d1d}
.note{border-left:4px solid var(--accent2);background:#fffbeb;padding:8px 12px;margin:8px 0}
.ok{border-left:4px solid var(--good);background:#f0fdf4;padding:8px 12px;margin:8px 0}
.err{border-left:4px solid var(--bad);background:#fef2f2;padding:8px 12px;margin:8px 0}
pre.code{background:var(--soft);padding:8px;overflow-x:auto;font-size:13px;margin:4px 0}pre.code .hl{background:#fee2e2;display:block}
svg.chart{width:100%;height:auto;max-width:900px;display:block}svg.chart text{font-size:11px;fill:#374151}
.s0{fill:#1d4ed8}.s1{fill:#b45309}.s2{fill:#047857}.s3{fill:#7c3aed}.s4{fill:#be185d}.l0{stroke:#1d4ed8;fill:none;stroke-width:2}.l1{stroke:#b45309;fill:none;stroke-width:2}.axis{stroke:#9ca3af}
.legend{display:flex;gap:14px;flex-wrap:wrap;font-size:13px;margin:4px 0}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
.legend .k0{background:#1d4ed8}.legend .k1{background:#b45309}.legend .k2{background:#047857}.legend .k3{background:#7c3aed}.legend .k4{background:#be185d}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;left:0;top:0}
ul.ev{margin:0;padding-left:18px}
@media (max-width:640px){main{padding:10px}th,td{padding:5px 6px}.kpi .v{font-size:20px}header .who{margin-left:0;width:100%}}
`;
