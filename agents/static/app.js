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

  // The live stream, on every page of the desk (the call bar): the queue state, and the
  // call the agent is on, which the server holds; a call not yet seen in this tab is
  // announced (title flash; a sound and a desktop notification when the officer turned
  // them on) and its card shown: in the terminal's slot, elsewhere in a panel over the page,
  // whatever the officer is typing. The card comes with the stream's `card` event, or is
  // fetched when the state said of a call whose card did not come (a page opened mid-call).
  var SEEN_CALL = "hotline.seenCall";
  var SOUND = "hotline.alert.sound";
  var NOTIFY = "hotline.alert.notify";

  function stored(storage, key) {
    try { return storage.getItem(key); } catch (problem) { return null; }
  }

  function store(storage, key, value) {
    try { storage.setItem(key, value); } catch (problem) { /* storage off: not kept */ }
  }

  function kindLabel(kind) {
    var labels = document.getElementById("kind-labels");
    var span = kind && labels ? labels.content.querySelector('[data-kind="' + kind + '"]') : null;
    return span ? span.textContent : (kind || "");
  }

  function beep() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      var audio = new Context();
      var tone = audio.createOscillator();
      tone.frequency.value = 880;
      tone.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.4);
    } catch (problem) { /* no audio device */ }
  }

  var flashTimer = null;

  function flashTitle(prefix) {
    var original = document.title.replace(prefix, "");
    var flips = 0;
    if (flashTimer !== null) window.clearInterval(flashTimer);
    function stop() {
      if (flashTimer !== null) window.clearInterval(flashTimer);
      flashTimer = null;
      document.title = original;
    }
    document.title = prefix + original;
    flashTimer = window.setInterval(function () {
      flips += 1;
      document.title = flips % 2 ? original : prefix + original;
      if (flips >= 20) stop();
    }, 800);
    document.addEventListener("keydown", stop, {once: true});
    document.addEventListener("click", stop, {once: true});
  }

  function follow(bar) {
    var slot = document.getElementById("card-slot");  // the terminal's
    var onTerminal = !!slot;
    var panel = document.getElementById("pop-panel");
    var target = onTerminal ? slot : document.getElementById("pop-slot");
    var current = null;   // the call the last state carried
    var pending = null;   // a call whose card is awaited
    var sinceTimer = null;

    function cardKey(html) {
      var holder = document.createElement("template");
      holder.innerHTML = html;
      var card = holder.content.querySelector("#card");
      return card ? card.dataset.call || "" : "";
    }

    function cardShown(key) {
      var card = target.querySelector("#card");
      return !!card && card.dataset.call === key && (onTerminal || !panel.hidden);
    }

    function showCard(html) {
      // The fragment is rendered and escaped on the server (Jinja2 autoescape).
      target.innerHTML = html;
      target.dataset.popped = String(Date.now());
      if (!onTerminal) panel.hidden = false;
    }

    function loadCard(key) {
      fetch(bar.dataset.card, {credentials: "same-origin"}).then(function (response) {
        return response.status === 200 && !response.redirected ? response.text() : null;
      }).then(function (html) {
        if (html && current && current.key === key) showCard(html);
      }).catch(function () { /* the stream's next state tries again */ });
    }

    function announce(call) {
      document.body.dataset.callAlert = call.key;
      flashTitle(bar.dataset.flash || "");
      if (stored(window.localStorage, SOUND) === "1") beep();
      if (stored(window.localStorage, NOTIFY) === "1" && window.Notification
          && window.Notification.permission === "granted") {
        try {
          new window.Notification(bar.dataset.notification.replace("{caller}",
                                                                   call.caller || ""));
        } catch (problem) { /* notifications refused in this context */ }
      }
    }

    function showCall(call) {
      var none = document.getElementById("call-bar-none");
      var shown = document.getElementById("call-bar-call");
      if (sinceTimer !== null) window.clearInterval(sinceTimer);
      sinceTimer = null;
      current = call || null;
      bar.dataset.onCall = call ? "1" : "";
      bar.dataset.call = call ? call.key : "";
      none.hidden = !!call;
      shown.hidden = !call;
      if (!call) return;
      document.getElementById("call-bar-caller").textContent = call.caller;
      document.getElementById("call-bar-choice").textContent = kindLabel(call.menu_choice);
      var started = Date.now() - (call.since_s || 0) * 1000;
      var since = document.getElementById("call-bar-since");
      function tick() {
        var seconds = Math.max(0, Math.floor((Date.now() - started) / 1000));
        var text = Math.floor(seconds / 60) + ":" + ("0" + seconds % 60).slice(-2);
        since.textContent = bar.dataset.sinceText.replace("{duration}", text);
      }
      tick();
      sinceTimer = window.setInterval(tick, 1000);
    }

    function onCall(call) {
      showCall(call);
      if (!call) {
        pending = null;
        return;
      }
      var fresh = stored(window.sessionStorage, SEEN_CALL) !== call.key;
      if (fresh) {
        store(window.sessionStorage, SEEN_CALL, call.key);
        announce(call);
      }
      if (onTerminal ? !cardShown(call.key) : fresh && !cardShown(call.key)) {
        pending = call.key;
        window.setTimeout(function () {  // the pop's card event usually comes first
          if (pending === call.key && !cardShown(call.key)) loadCard(call.key);
        }, 1000);
      }
    }

    var source = new EventSource(bar.dataset.events);
    source.addEventListener("card", function (event) {
      var key = cardKey(event.data);
      if (onTerminal || key === pending
          || (key && stored(window.sessionStorage, SEEN_CALL) !== key)) {
        showCard(event.data);
        if (key === pending) pending = null;
      }
    });
    source.addEventListener("state", function (event) {
      var state = JSON.parse(event.data);
      var label = document.getElementById("queue-state");
      if (label) {
        label.textContent = stateLabel(state.state);
        label.dataset.state = state.state;
        document.getElementById("queue-reason").textContent = state.reason || "";
        showWrapUp(state.wrap_up_left_s);
        showDevice(state);
      }
      onCall(state.call);
    });
    source.addEventListener("open", function () {
      bar.dataset.connected = "1";
      if (slot) slot.dataset.connected = "1";
      document.getElementById("call-bar-down").hidden = true;
    });
    source.addEventListener("error", function () {
      bar.dataset.connected = "";
      document.getElementById("call-bar-down").hidden = false;
    });

    document.getElementById("call-bar-card").addEventListener("click", function () {
      if (!current) return;
      if (cardShown(current.key)) {
        target.scrollIntoView();
        return;
      }
      loadCard(current.key);
    });
    if (panel) {
      document.getElementById("pop-close").addEventListener("click", function () {
        panel.hidden = true;
      });
    }
    [["alert-sound", SOUND], ["alert-notify", NOTIFY]].forEach(function (option) {
      var box = document.getElementById(option[0]);
      box.checked = stored(window.localStorage, option[1]) === "1";
      box.addEventListener("change", function () {
        store(window.localStorage, option[1], box.checked ? "1" : "");
        if (box.checked && option[1] === NOTIFY && window.Notification
            && window.Notification.permission === "default") {
          window.Notification.requestPermission();
        }
      });
    });

    if (!onTerminal) return;
    // Waiting for calls is not idleness: keep the session alive while the terminal is open,
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
    var bar = document.getElementById("call-bar");
    var wrapUp = document.getElementById("queue-wrap-up");
    if (wrapUp && wrapUp.dataset.left !== undefined) showWrapUp(Number(wrapUp.dataset.left));
    if (bar && window.EventSource) follow(bar);
    document.addEventListener("keydown", shortcuts);
    // The shortcuts listen from here on (a key pressed while the page still loads goes to
    // the browser); tests wait for this mark rather than for time.
    document.body.dataset.shortcutsReady = "1";
    document.addEventListener("submit", fillCardForm, true);
    document.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("[data-print]") : null;
      if (button) window.print();
    });
  });

  // The caller's card may arrive over the live stream, rendered without the page's session:
  // a form in it takes the page's CSRF token, and comes back to the page it was sent from.
  function fillCardForm(event) {
    var form = event.target;
    var token = form.querySelector("input[data-page-csrf]");
    if (token && !token.value) token.value = document.body.dataset.csrf || "";
    var back = form.querySelector("input[data-back-here]");
    if (back) {
      var query = window.location.search.replace(/([?&])answered=[^&]*&?/, "$1")
        .replace(/[?&]$/, "");
      back.value = window.location.pathname + query;
    }
  }

  // The knowledge base on the desk (知识库): the card arrives over the live stream, so its
  // buttons are followed from the document. An article opens beside the work-order form;
  // its answer goes into 答复内容 where the cursor is, its guide to the caller by SMS.
  function knowledgeDesk() {
    var opened = null;
    function panel() { return document.getElementById("kb-desk"); }
    function status(text) {
      var line = document.getElementById("kb-desk-status");
      if (line) line.textContent = text || "";
    }
    function post(path, fields) {
      var body = new URLSearchParams(fields);
      body.set("_csrf", document.body.dataset.csrf || "");
      return fetch(path, {method: "POST", body: body, credentials: "same-origin",
                          headers: {"X-CSRF-Token": document.body.dataset.csrf || ""}})
        .then(function (response) { return response.json(); });
    }
    function search() {
      var box = panel(), query = document.getElementById("kb-desk-q").value.trim();
      var list = document.getElementById("kb-desk-hits");
      if (!box || !query) return;
      fetch("/knowledge/search.json?q=" + encodeURIComponent(query), {credentials: "same-origin"})
        .then(function (response) { return response.json(); })
        .then(function (found) {
          list.textContent = "";
          found.hits.forEach(function (hit) {
            var item = document.createElement("li"), link = document.createElement("button");
            link.type = "button";
            link.className = "kb-desk-hit";
            link.id = "kb-desk-hit-" + hit.id;
            link.dataset.article = hit.id;
            link.textContent = hit.title + (hit.item_code ? " " + hit.item_code : "");
            item.appendChild(link);
            list.appendChild(item);
          });
          status(found.hits.length ? "" : box.dataset.noHits);
        });
    }
    function open(id) {
      fetch("/knowledge/articles/" + id + ".json", {credentials: "same-origin"})
        .then(function (response) { return response.json(); })
        .then(function (article) {
          opened = article;
          document.getElementById("kb-desk-title").textContent = article.title;
          document.getElementById("kb-desk-answer").textContent = article.answer;
          document.getElementById("kb-desk-sample").hidden = !article.sample;
          var guide = document.getElementById("kb-desk-guide");
          guide.textContent = "";
          article.guide.forEach(function (field) {
            var term = document.createElement("dt"), text = document.createElement("dd");
            term.textContent = field.name;
            text.textContent = field.text;
            guide.appendChild(term);
            guide.appendChild(text);
          });
          document.getElementById("kb-desk-article").hidden = false;
          status("");
        });
    }
    function insertAnswer() {
      var field = document.getElementById("card-answer");
      if (!field || !opened) return;
      var start = field.selectionStart || field.value.length, end = field.selectionEnd || start;
      field.value = field.value.slice(0, start) + opened.answer + field.value.slice(end);
      field.dispatchEvent(new Event("input", {bubbles: true}));  // the draft keeps it
      field.focus();
    }
    document.addEventListener("click", function (event) {
      var target = event.target;
      if (!target || !target.closest || !target.closest("#kb-desk")) return;
      if (target.id === "kb-desk-search") search();
      else if (target.dataset.article) open(target.dataset.article);
      else if (target.id === "kb-desk-insert") insertAnswer();
      else if (target.id === "kb-desk-close") document.getElementById("kb-desk-article").hidden = true;
      else if (target.id === "kb-desk-sms" && opened) {
        post("/knowledge/articles/" + opened.id + "/sms", {phone: panel().dataset.phone})
          .then(function (answer) { status(answer.message || answer.error); });
      } else if (target.id === "kb-desk-gap") {
        post("/knowledge/consultations", {q: document.getElementById("kb-desk-q").value,
                                          format: "json"})
          .then(function (answer) { status(answer.message || answer.error); });
      }
    });
    // 常用答复: the editors' short texts for the kind chosen in the form, loaded when the
    // list is opened (the kind may have changed), inserted into 答复内容 when one is picked.
    document.addEventListener("focusin", function (event) {
      var list = event.target;
      if (!list || list.id !== "card-answer-template") return;
      var kind = document.getElementById(list.dataset.kindField);
      fetch("/knowledge/templates.json?kind=" + encodeURIComponent(kind ? kind.value : ""),
            {credentials: "same-origin"})
        .then(function (response) { return response.json(); })
        .then(function (found) {
          while (list.options.length > 1) list.remove(1);
          found.templates.filter(function (row) { return row.field === "answer"; })
            .forEach(function (row) {
              var option = document.createElement("option");
              option.value = row.text;
              option.textContent = row.title;
              list.appendChild(option);
            });
          list.dataset.loaded = "1";
        });
    });
    document.addEventListener("change", function (event) {
      var list = event.target;
      if (!list || list.id !== "card-answer-template" || !list.value) return;
      var field = document.getElementById("card-answer");
      field.value = field.value ? field.value + list.value : list.value;
      field.dispatchEvent(new Event("input", {bubbles: true}));
      list.selectedIndex = 0;
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && event.target && event.target.id === "kb-desk-q") {
        event.preventDefault();
        search();
      }
    });
  }
  knowledgeDesk();
})();
