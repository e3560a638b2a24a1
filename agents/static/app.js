// Hall terminal: the live queue state and the screen pop (server-sent events), and the
// keyboard shortcuts. No inline script anywhere: the content security policy forbids it.
(function () {
  "use strict";
  var KEEPALIVE_MS = 60 * 1000;

  function stateLabel(state) {
    var labels = document.getElementById("state-labels");
    if (!labels) return state;
    var span = labels.content.querySelector('[data-state="' + state + '"]');
    return span ? span.textContent : state;
  }

  // The phone's device state as Asterisk reports it (0 Unknown .. 8 On hold), and the
  // warning while it cannot be rung (Invalid, Unavailable: the member is "unreachable").
  function showDevice(state) {
    var label = document.getElementById("queue-device");
    if (label) {
      var device = state.device;
      var labels = document.getElementById("device-labels");
      var span = device === undefined || device === null || !labels ? null
        : labels.content.querySelector('[data-device="' + device + '"]');
      label.dataset.device = device === undefined || device === null ? "" : String(device);
      label.textContent = span ? span.textContent
        : (device === undefined || device === null ? "—" : String(device));
    }
    var warning = document.getElementById("phone-warning");
    if (warning) warning.hidden = state.state !== "unreachable";
  }

  // A wrap-up's seconds left, counted down here from what the server said (the browser's
  // clock need not agree with the server's); the server's next state ends it.
  var wrapUpTimer = null;

  function showWrapUp(left) {
    var label = document.getElementById("queue-wrap-up");
    if (!label) return;
    if (wrapUpTimer !== null) {
      window.clearInterval(wrapUpTimer);
      wrapUpTimer = null;
    }
    if (left === null || left === undefined) {
      label.hidden = true;
      label.textContent = "";
      delete label.dataset.left;
      return;
    }
    var ends = Date.now() + left * 1000;
    function tick() {
      var seconds = Math.max(0, Math.ceil((ends - Date.now()) / 1000));
      label.dataset.left = String(seconds);
      label.textContent = label.dataset.text.replace("{seconds}", String(seconds));
      if (seconds === 0 && wrapUpTimer !== null) {
        window.clearInterval(wrapUpTimer);
        wrapUpTimer = null;
      }
    }
    label.hidden = false;
    tick();
    wrapUpTimer = window.setInterval(tick, 250);
  }

  function follow(slot) {
    var source = new EventSource(slot.dataset.events);
    source.addEventListener("card", function (event) {
      // The fragment is rendered and escaped on the server (Jinja2 autoescape).
      slot.innerHTML = event.data;
      slot.dataset.popped = String(Date.now());
    });
    source.addEventListener("state", function (event) {
      var state = JSON.parse(event.data);
      var label = document.getElementById("queue-state");
      label.textContent = stateLabel(state.state);
      label.dataset.state = state.state;
      document.getElementById("queue-reason").textContent = state.reason || "";
      showWrapUp(state.wrap_up_left_s);
      showDevice(state);
    });
    source.addEventListener("open", function () { slot.dataset.connected = "1"; });
    // Waiting for calls is not idleness: keep the session alive while this page is open,
    // and go to the login page once the session has ended (its lifetime, or a logout).
    window.setInterval(function () {
      fetch("/session/keepalive", {credentials: "same-origin"}).then(function (response) {
        if (response.status === 401) {
          source.close();
          window.location.assign("/login?next=/terminal");
        }
      });
    }, KEEPALIVE_MS);
  }

  // Ctrl+S saves the form that has focus, and only it (its save button, else its one
  // submit button); with no form focused it does nothing, not even the browser's "save page".
  function saveFocusedForm(event) {
    event.preventDefault();
    var focused = document.activeElement;
    var form = focused && focused.closest ? focused.closest("form") : null;
    if (!form) return;
    var submitter = form.querySelector('[data-shortcut="save"]');
    if (!submitter) {
      var buttons = form.querySelectorAll('button[type="submit"], input[type="submit"]');
      if (buttons.length !== 1) return;
      submitter = buttons[0];
    }
    if (form.requestSubmit) form.requestSubmit(submitter);
    else submitter.click();
  }

  function shortcuts(event) {
    var name = null;
    if (event.altKey && (event.key === "p" || event.key === "P")) name = "pause";
    if (event.altKey && (event.key === "n" || event.key === "N")) name = "new";
    if ((event.ctrlKey || event.metaKey) && (event.key === "s" || event.key === "S")) {
      saveFocusedForm(event);
      return;
    }
    if (!name) return;
    var target = document.querySelector('[data-shortcut="' + name + '"]');
    if (target) {
      event.preventDefault();
      target.click();
    }
  }

  // Drafts: what is typed into a form that posts is kept in this tab's sessionStorage,
  // keyed by the page and the form, so that a submission refused for a lost session or a
  // stale token loses nothing. A submitted draft is dropped by the next page, unless that
  // page is the refusal (#submission-lost) or shows an error: then the form's page fills
  // it in again, to be checked and submitted.
  var DRAFTS = "hotline.draft:";
  var SKIPPED = {hidden: 1, password: 1, submit: 1, button: 1, reset: 1, file: 1, image: 1};

  function draftKey(form) {
    return DRAFTS + window.location.pathname + window.location.search + "#"
      + (form.id || form.getAttribute("action") || "");
  }

  function draftFields(form) {
    var fields = [];
    if ((form.method || "").toLowerCase() !== "post") return fields;
    if (/\/login$/.test(form.getAttribute("action") || "")) return fields;
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || SKIPPED[field.type] || field.disabled) return;
      fields.push(field);
    });
    return fields;
  }

  function readDraft(key) {
    try { return JSON.parse(window.sessionStorage.getItem(key) || "null"); }
    catch (problem) { return null; }
  }

  function keepDraft(form, submitted) {
    var fields = draftFields(form);
    if (!fields.length) return;
    var values = {};
    var typed = false;
    fields.forEach(function (field) {
      if (field.type === "checkbox" || field.type === "radio") {
        values[field.name + "=" + field.value] = field.checked;
      } else {
        values[field.name] = field.value;
        if (field.value !== field.defaultValue) typed = true;
      }
    });
    var key = draftKey(form);
    if (!typed && !readDraft(key)) return;  // nothing typed: nothing to keep
    try {
      window.sessionStorage.setItem(key, JSON.stringify({values: values, submitted: submitted}));
    } catch (problem) { /* storage full or off: the form still works */ }
  }

  function settleDrafts() {
    var keep = !!document.querySelector("#submission-lost[data-keep-drafts], #error");
    for (var i = window.sessionStorage.length - 1; i >= 0; i--) {
      var key = window.sessionStorage.key(i);
      if (!key || key.indexOf(DRAFTS) !== 0) continue;
      var draft = readDraft(key);
      if (!draft || !draft.submitted) continue;
      if (keep) {
        draft.submitted = false;
        window.sessionStorage.setItem(key, JSON.stringify(draft));
      } else {
        window.sessionStorage.removeItem(key);
      }
    }
  }

  function restoreDrafts() {
    Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
      var draft = readDraft(draftKey(form));
      if (!draft || draft.submitted) return;
      var restored = false;
      draftFields(form).forEach(function (field) {
        if (field.type === "checkbox" || field.type === "radio") {
          var checked = draft.values[field.name + "=" + field.value];
          if (checked !== undefined) field.checked = checked;
        } else if (draft.values[field.name] !== undefined
                   && draft.values[field.name] !== field.value) {
          field.value = draft.values[field.name];
          restored = true;
        }
      });
      if (!restored) return;
      form.dataset.draftRestored = "1";
      var note = document.createElement("p");
      note.className = "notice draft-restored";
      note.setAttribute("role", "status");
      note.textContent = document.body.dataset.draftRestored || "";
      form.insertBefore(note, form.firstChild);
    });
  }

  function followDrafts() {
    settleDrafts();
    restoreDrafts();
    document.addEventListener("input", function (event) {
      if (event.target.form) keepDraft(event.target.form, false);
    });
    document.addEventListener("change", function (event) {
      if (event.target.form) keepDraft(event.target.form, false);
    });
    document.addEventListener("submit", function (event) {
      keepDraft(event.target, true);
    }, true);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (window.sessionStorage) followDrafts();
    var slot = document.getElementById("card-slot");
    var wrapUp = document.getElementById("queue-wrap-up");
    if (wrapUp && wrapUp.dataset.left !== undefined) showWrapUp(Number(wrapUp.dataset.left));
    if (slot && window.EventSource) follow(slot);
    document.addEventListener("keydown", shortcuts);
  });
})();
