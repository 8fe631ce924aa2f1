/* Tooltips for maps drawn by matcher.viz.svgmap; no dependencies, no network.
   For every <svg class="svgmap">: the mouse shows the <title> of the nearest line (else
   point) of class "pick" within 8 px; a tap does the same within 22 px; with keyboard
   focus on the map, the arrow keys step through lines then points (Home, End; Escape
   hides). The element shown gets class "on"; the map dispatches "svgmap:pick". */
(function () {
  "use strict";
  var tip = null;

  function tooltip() {
    if (!tip) {
      tip = document.createElement("div");
      tip.className = "svgmap-tip";
      tip.setAttribute("role", "status");
      tip.setAttribute("aria-live", "polite");
      tip.hidden = true;
      document.body.appendChild(tip);
    }
    return tip;
  }

  function num(el, name) {
    return parseFloat(el.getAttribute(name)) || 0;
  }

  function geometry(el) {
    var tag = el.tagName.toLowerCase();
    if (tag === "line") {
      return {el: el, line: true, x1: num(el, "x1"), y1: num(el, "y1"), x2: num(el, "x2"), y2: num(el, "y2")};
    }
    if (tag === "circle") return {el: el, line: false, x: num(el, "cx"), y: num(el, "cy")};
    if (tag === "rect") {
      return {el: el, line: false, x: num(el, "x") + num(el, "width") / 2, y: num(el, "y") + num(el, "height") / 2};
    }
    var b = el.getBBox();
    return {el: el, line: false, x: b.x + b.width / 2, y: b.y + b.height / 2};
  }

  function dist2(g, x, y) {
    if (!g.line) return (g.x - x) * (g.x - x) + (g.y - y) * (g.y - y);
    var dx = g.x2 - g.x1, dy = g.y2 - g.y1, len = dx * dx + dy * dy;
    var t = len ? Math.max(0, Math.min(1, ((x - g.x1) * dx + (y - g.y1) * dy) / len)) : 0;
    var px = g.x1 + t * dx - x, py = g.y1 + t * dy - y;
    return px * px + py * py;
  }

  function init(svg) {
    var picks = [].map.call(svg.querySelectorAll(".pick"), geometry);
    picks.sort(function (a, b) { return (b.line ? 1 : 0) - (a.line ? 1 : 0); });  // stable: lines first
    var current = -1;

    function place(x, y) {  // above the pointer (a finger or the cursor hides what is below), else below
      var t = tooltip(), w = t.offsetWidth, h = t.offsetHeight;
      var left = Math.min(x + 10, window.innerWidth - w - 4);
      var top = y - h - 14 >= 0 ? y - h - 14 : y + 16;
      t.style.left = Math.max(4, left) + "px";
      t.style.top = Math.max(4, top) + "px";
    }

    function show(k, x, y) {
      if (current >= 0 && current !== k) picks[current].el.classList.remove("on");
      current = k;
      var el = picks[k].el, title = el.querySelector("title"), t = tooltip();
      el.classList.add("on");
      t.textContent = title ? title.textContent : (el.getAttribute("data-id") || "");
      t.hidden = false;
      place(x, y);
      svg.dispatchEvent(new CustomEvent("svgmap:pick", {detail: el}));
    }

    function hide() {
      if (current >= 0) picks[current].el.classList.remove("on");
      current = -1;
      if (tip) tip.hidden = true;
    }

    function nearest(e, px) {
      var m = svg.getScreenCTM();
      if (!m) return -1;
      var p = new DOMPoint(e.clientX, e.clientY).matrixTransform(m.inverse());
      var r = px / Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));  // screen px in user units
      var bestLine = -1, dl = r * r, bestPoint = -1, dp = r * r;
      for (var k = 0; k < picks.length; k++) {
        var d = dist2(picks[k], p.x, p.y);
        if (picks[k].line) {
          if (d <= dl) { dl = d; bestLine = k; }
        } else if (d <= dp) { dp = d; bestPoint = k; }
      }
      return bestLine >= 0 ? bestLine : bestPoint;
    }

    svg.addEventListener("pointermove", function (e) {
      if (e.pointerType === "touch") return;
      var k = nearest(e, 8);
      if (k >= 0) show(k, e.clientX, e.clientY); else hide();
    });
    svg.addEventListener("pointerleave", function (e) {
      if (e.pointerType !== "touch") hide();
    });
    svg.addEventListener("click", function (e) {
      var k = nearest(e, e.pointerType === "mouse" ? 8 : 22);
      if (k >= 0) show(k, e.clientX, e.clientY); else hide();
    });
    svg.addEventListener("keydown", function (e) {
      var n = picks.length, step = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1}[e.key];
      if (!n) return;
      var k;
      if (step) k = current < 0 ? (step > 0 ? 0 : n - 1) : (current + step + n) % n;
      else if (e.key === "Home") k = 0;
      else if (e.key === "End") k = n - 1;
      else if (e.key === "Escape") { hide(); return; }
      else return;
      e.preventDefault();
      var b = picks[k].el.getBoundingClientRect();
      show(k, b.left + b.width / 2, b.top + b.height / 2);
    });
    svg.addEventListener("blur", hide);
  }

  function start() {
    [].forEach.call(document.querySelectorAll("svg.svgmap"), function (svg) {
      if (!svg.svgmapReady) { svg.svgmapReady = true; init(svg); }
    });
  }
  // a page that inserts maps later (the matching page) calls svgmap.start() again
  window.svgmap = {start: start};
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
