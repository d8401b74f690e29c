// The MCP Apps bridge every view shares, spliced into each page when its resource is read (kupe_mcp/serve/apps.py).
// JSON-RPC over postMessage with the host: ui/initialize, the host's theme, tool results, and requests such as
// tools/call for a view's own buttons. A view calls kupeView(name, onResult) once and keeps what it returns.
var kupeView = (function () {
  "use strict";
  return function (appName, onResult) {
    var nextId = 1, pending = {};
    function send(msg) { window.parent.postMessage(msg, "*"); }
    function request(method, params) {
      var id = nextId++;
      return new Promise(function (resolve, reject) {
        pending[id] = { resolve: resolve, reject: reject };
        send({ jsonrpc: "2.0", id: id, method: method, params: params });
      });
    }
    function theme(ctx) {
      var vars = ctx && ctx.styles && ctx.styles.variables;
      if (vars) Object.keys(vars).forEach(function (k) { if (/^--[a-z0-9-]+$/.test(k)) document.documentElement.style.setProperty(k, String(vars[k])); });
      if (ctx && ctx.theme) document.documentElement.style.colorScheme = ctx.theme;
    }
    window.addEventListener("message", function (event) {
      if (event.source !== window.parent) return;
      var msg = event.data || {};
      if (msg.id !== undefined && pending[msg.id]) {
        var p = pending[msg.id]; delete pending[msg.id];
        if (msg.error) p.reject(msg.error); else p.resolve(msg.result); return;
      }
      if (msg.method === "ui/notifications/tool-result") onResult(msg.params);
      if (msg.method === "ui/notifications/host-context-changed") theme(msg.params);
    });
    request("ui/initialize", { protocolVersion: "2026-01-26", appInfo: { name: appName, version: "1" }, appCapabilities: {} })
      .then(function (r) { theme(r && r.hostContext); send({ jsonrpc: "2.0", method: "ui/notifications/initialized", params: {} }); });
    return { request: request };
  };
})();
