// The MCP Apps bridge every view shares, spliced into each page when its resource is read (kupe_mcp/serve/apps.py).
// JSON-RPC over postMessage with the host (ext-apps spec 2026-01-26): ui/initialize, the host's theme, tool results,
// size-changed so the host can fit its frame, and requests such as tools/call and ui/open-link for a view's buttons.
// A view calls kupeView(name, onResult) once and keeps what it returns.
var kupeView = (function () {
  "use strict";
  return function (appName, onResult) {
    var nextId = 1, pending = {}, sent = {};
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
      if (vars) Object.keys(vars).forEach(function (k) { if (/^--[a-z0-9-]+$/.test(k) && vars[k] != null) document.documentElement.style.setProperty(k, String(vars[k])); });
      if (ctx && ctx.theme) document.documentElement.style.colorScheme = ctx.theme;
    }
    // The host sizes its frame from this; without it a real host keeps its default frame and cuts the view off.
    function size() {
      var w = Math.ceil(window.innerWidth), h = Math.ceil(document.documentElement.getBoundingClientRect().height);
      if (w === sent.width && h === sent.height) return;
      sent = { width: w, height: h };
      send({ jsonrpc: "2.0", method: "ui/notifications/size-changed", params: sent });
    }
    // Requests from the host: ping and ui/resource-teardown need only an answer; the rest this view does not offer.
    function answerHost(msg) {
      var known = msg.method === "ping" || msg.method === "ui/resource-teardown";
      send(known ? { jsonrpc: "2.0", id: msg.id, result: {} }
                 : { jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "Method not found" } });
    }
    window.addEventListener("message", function (event) {
      if (event.source !== window.parent) return;
      var msg = event.data || {};
      if (msg.method === undefined) {  // a response: ids are ours only when no method is named
        var p = msg.id !== undefined && pending[msg.id];
        if (p) { delete pending[msg.id]; if (msg.error) p.reject(msg.error); else p.resolve(msg.result); }
        return;
      }
      if (msg.id !== undefined) { answerHost(msg); return; }
      if (msg.method === "ui/notifications/tool-result") onResult(msg.params);
      if (msg.method === "ui/notifications/host-context-changed") theme(msg.params);
    });
    request("ui/initialize", { protocolVersion: "2026-01-26", appInfo: { name: appName, version: "1" }, appCapabilities: {} })
      .then(function (r) {
        theme(r && r.hostContext);
        send({ jsonrpc: "2.0", method: "ui/notifications/initialized", params: {} });
        size();
        if (window.ResizeObserver) { var watch = new ResizeObserver(size); watch.observe(document.documentElement); watch.observe(document.body); }
      });
    return { request: request };
  };
})();
