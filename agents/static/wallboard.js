// Supervisor's wallboard: fetches /supervisor/wallboard.json every two seconds and writes the
// figures into the page the server rendered. Text only (textContent), never markup; no inline
// script anywhere: the content security policy forbids it.
(function () {
  "use strict";
  var INTERVAL_MS = 2000;

  function lookup(document_, path) {
    return path.split(".").reduce(function (value, key) {
      return value === null || value === undefined ? undefined : value[key];
    }, document_);
  }

  // As the page's first rendering formats them (agents/pages/wallboard.py).
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    var total = Math.round(seconds);
    var hours = Math.floor(total / 3600);
    var minutes = Math.floor((total % 3600) / 60);
    var secs = total % 60;
    var mm = hours ? String(minutes).padStart(2, "0") : String(minutes);
    return (hours ? hours + ":" : "") + mm + ":" + String(secs).padStart(2, "0");
  }

  function percent(share) {
    return share === null || share === undefined ? "—" : (share * 100).toFixed(1) + "%";
  }

  function format(value, kind) {
    if (kind === "duration") return duration(value);
    if (kind === "percent") return percent(value);
    return value === null || value === undefined ? "—" : String(value);
  }

  function stateLabel(state) {
    var labels = document.getElementById("wb-state-labels");
    var span = labels && labels.content.querySelector('[data-state="' + state + '"]');
    return span ? span.textContent : state;
  }

  function deviceLabel(device) {
    if (device === null || device === undefined) return "—";
    var labels = document.getElementById("wb-device-labels");
    var span = labels && labels.content.querySelector('[data-device="' + device + '"]');
    return span ? span.textContent : String(device);
  }

  function row(cells, interface_) {
    var tr = document.createElement("tr");
    tr.dataset.interface = interface_;
    cells.forEach(function (cell) {
      var td = document.createElement("td");
      td.textContent = cell.text;
      if (cell.state) td.dataset.state = cell.state;
      if (cell.device !== undefined) td.dataset.device = cell.device;
      tr.appendChild(td);
    });
    return tr;
  }

  function fillTable(tableId, emptyId, rows) {
    var body = document.querySelector("#" + tableId + " tbody");
    body.replaceChildren.apply(body, rows);
    document.getElementById(emptyId).hidden = rows.length > 0;
  }

  function show(board) {
    document.querySelectorAll("[data-figure]").forEach(function (element) {
      element.textContent = format(lookup(board, element.dataset.figure), element.dataset.format);
      if (element.dataset.goal) {
        var met = lookup(board, element.dataset.goal);
        element.classList.toggle("goal-met", met === true);
        element.classList.toggle("goal-missed", met === false);
      }
    });
    // Lost callers (abandoned, left) show in colour once there is one.
    document.querySelectorAll(".wb-lost [data-figure]").forEach(function (element) {
      var value = lookup(board, element.dataset.figure);
      element.parentNode.dataset.lost = value ? "1" : "0";
    });
    var leftText = document.getElementById("wb-members").dataset.wrapUpLeft;
    fillTable("wb-members", "wb-no-members", board.agents.members.map(function (m) {
      var state = stateLabel(m.state);
      if (m.wrap_up_left_s !== null && m.wrap_up_left_s !== undefined) {
        state += " " + leftText.replace("{seconds}", String(m.wrap_up_left_s));
      }
      return row([{text: m.name}, {text: m.interface},
                  {text: state, state: m.state},
                  {text: deviceLabel(m.device),
                   device: m.device === null || m.device === undefined ? "" : String(m.device)},
                  {text: m.since_local}, {text: duration(m.for_s)},
                  {text: m.paused_reason}], m.interface);
    }));
    fillTable("wb-per-agent", "wb-no-answers", board.per_agent.map(function (a) {
      return row([{text: a.name}, {text: a.interface}, {text: String(a.answered)},
                  {text: duration(a.talk_avg_s)}, {text: duration(a.talk_total_s)},
                  {text: duration(a.hold_avg_s)}], a.interface);
    }));
  }

  function poll(root) {
    var stale = document.getElementById("wb-stale");
    fetch(root.dataset.source, {credentials: "same-origin", cache: "no-store",
                                headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (response.redirected && new URL(response.url).pathname === "/login") {
          // The session ended: the login page brings the supervisor back here.
          window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
          return null;
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (board) {
        if (!board) return;
        show(board);
        stale.hidden = true;
        root.dataset.updated = board.as_of;
        window.setTimeout(poll, INTERVAL_MS, root);
      })
      .catch(function () {
        stale.hidden = false;
        window.setTimeout(poll, INTERVAL_MS, root);
      });
  }

  // Wall mode: the board alone, full screen, for the hall's big screen (Esc leaves it).
  function wallMode() {
    document.body.classList.add("wall");
    var page = document.documentElement;
    if (page.requestFullscreen) page.requestFullscreen().catch(function () {});
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("wallboard");
    if (root && window.fetch) window.setTimeout(poll, INTERVAL_MS, root);
    var button = document.getElementById("wb-wall");
    if (button) button.addEventListener("click", wallMode);
    if (/[?&]wall=1/.test(window.location.search)) document.body.classList.add("wall");
    document.addEventListener("fullscreenchange", function () {
      if (!document.fullscreenElement && !/[?&]wall=1/.test(window.location.search)) {
        document.body.classList.remove("wall");
      }
    });
  });
})();
