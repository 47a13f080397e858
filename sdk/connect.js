/*! Latchkey connect helper: opens Latchkey's hosted connection popup and resolves with its
 * result. No dependencies, no build step. Served by Latchkey at /sdk/connect.js.
 *
 *   Latchkey.connect({ url, customState })             // an activation link
 *   Latchkey.connect({ token, integrationKey, ... })   // a workspace token (JWT)
 *     → Promise<{ connectionId, connectionStatus, customState }>
 *     ✗ { error, errorData, connectionStatus }   (error "closed": the window was closed)
 *
 * The page's origin must be one of the account's allowed_redirect_origins. When the
 * browser blocks the popup, the page itself goes to Latchkey and comes back to the
 * redirect URL with connectionId or error in its query (the promise then never settles).
 */
(function (root) {
  'use strict';
  var here = (function () {
    try { return new URL(document.currentScript.src).origin; } catch (e) { return null; }
  })();
  var FIELDS = ['token', 'integrationKey', 'integrationId', 'authOptionKey', 'connectionId',
    'name', 'customState', 'redirectUri', 'allowMultipleConnections'];

  function startUrl(o) {
    var base = o.baseUrl || here;
    if (!o.url && (!base || !o.token)) {
      throw new Error('Latchkey.connect needs { url } or { token } (and baseUrl when bundled)');
    }
    var u = o.url ? new URL(o.url, location.href) : new URL('/connection-popup', base);
    FIELDS.forEach(function (k) { if (o[k] != null) u.searchParams.set(k, String(o[k])); });
    if (o.connectionParameters) {
      u.searchParams.set('connectionParameters', JSON.stringify(o.connectionParameters));
    }
    return u;
  }

  function connect(options) {
    var o = options || {};
    return new Promise(function (resolve, reject) {
      var start = startUrl(o);
      var origin = start.origin;
      var full = start.href;
      var opener = o.targetOrigin || location.origin;
      start.searchParams.set('targetOrigin', opener);
      start.searchParams.set('callbackMessage', 'latchkey');
      var w = o.width || 520, h = o.height || 720;
      var x = Math.max(0, (screen.width - w) / 2), y = Math.max(0, (screen.height - h) / 2);
      var popup = window.open(start.href, 'latchkey-connect',
        'popup,width=' + w + ',height=' + h + ',left=' + x + ',top=' + y);
      if (!popup) {
        location.assign(full);
        return;
      }
      var settled = false;
      var timer = setInterval(function () {
        // The result page posts, then closes itself: give its message a moment.
        if (popup.closed) {
          clearInterval(timer);
          setTimeout(function () {
            end(reject, { error: 'closed', errorData: null, connectionStatus: 'cancelled' });
          }, 400);
        }
      }, 250);
      function end(settle, value) {
        if (settled) return;
        settled = true;
        clearInterval(timer);
        window.removeEventListener('message', heard);
        settle(value);
      }
      function heard(e) {
        // Only Latchkey's own page in the window we opened speaks for the connection.
        if (e.origin !== origin || e.source !== popup) return;
        var d = e.data;
        if (!d || d.callbackMessage !== 'latchkey') return;
        var state = d.customState == null ? null : d.customState;
        if (d.connectionId && !d.error) {
          end(resolve, { connectionId: d.connectionId, connectionStatus: d.connectionStatus,
            customState: state });
        } else {
          end(reject, { error: d.error || 'unknown', errorData: d.errorData == null ? null : d.errorData,
            connectionStatus: d.connectionStatus, customState: state });
        }
      }
      window.addEventListener('message', heard);
    });
  }

  var api = { connect: connect };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.Latchkey = api;
})(typeof self !== "undefined" ? self : this);
