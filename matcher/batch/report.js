/* report.html: the pairs table (sort, filter, columns) from the embedded JSON, and the
   link from a pair on the map to its row. Vanilla JS, no network. */
(function () {
  "use strict";
  var source = document.getElementById("pairs-data");
  var table = document.getElementById("pairs-table");
  if (!source || !table) return;
  var data = JSON.parse(source.textContent);
  var cols = data.columns, rows = data.rows;
  var headRow = table.tHead.rows[0], tbody = table.tBodies[0];
  var filter = document.getElementById("pairs-filter");
  var count = document.getElementById("pairs-count");
  var allColumns = document.getElementById("pairs-all-columns");
  var collator = new Intl.Collator("zh-CN", {numeric: true, sensitivity: "base"});
  // controls shown as the page's other text shows them (matcher.viz.markup.escape)
  var CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;
  var sortKey = -1, sortDir = 0;  // 1 ascending, -1 descending

  function shown(v) {
    if (v === null || v === undefined) return "";
    return String(v).replace(CONTROL, function (c) {
      var k = c.charCodeAt(0);
      return String.fromCharCode(k === 0x7f ? 0x2421 : k > 0x7f ? 0xfffd : 0x2400 + k);
    });
  }

  function fmt(n) {
    return n.toLocaleString("en-US");  // 2,000, as the rest of the page writes counts
  }

  function number(v) {
    var x = v === null || v === undefined || v === "" ? NaN : Number(v);
    return isFinite(x) ? x : NaN;
  }

  // header: one button per column
  var ths = cols.map(function (c, k) {
    var th = document.createElement("th"), b = document.createElement("button");
    th.scope = "col";
    th.setAttribute("aria-sort", "none");
    if (c.num) th.className = "n";
    if (!c.show) th.className += " extra";
    b.type = "button";
    b.textContent = c.zh;
    b.title = c.en + "：点击排序";
    b.setAttribute("data-key", c.key);
    b.addEventListener("click", function () { sortBy(k); });
    th.appendChild(b);
    headRow.appendChild(th);
    return th;
  });

  // body: one row per pair, built when first listed
  var trs = new Array(rows.length);
  var marked = -1;  // the row of the pair picked on the map

  function row(i) {
    if (trs[i]) return trs[i];
    var tr = document.createElement("tr");
    tr.setAttribute("data-row", String(i));
    cols.forEach(function (c, k) {
      var td = document.createElement("td");
      td.textContent = shown(rows[i][k]);
      td.setAttribute("data-label", c.zh);
      var cls = [];
      if (c.num) cls.push("n");
      if (!c.show) cls.push("extra");
      if (c.key.indexOf("reasons") === 0) cls.push("reason");
      else if (c.key === "company" || c.key === "owner") cls.push("name");
      else if (/_id$/.test(c.key)) cls.push("id");
      if (cls.length) td.className = cls.join(" ");
      tr.appendChild(td);
    });
    if (i === marked) tr.className = "on";
    return (trs[i] = tr);
  }
  var order = rows.map(function (_, i) { return i; });
  var haystack = [];

  function visibleColumn(k) {
    return cols[k].show || table.classList.contains("all");
  }

  function index() {
    haystack = rows.map(function (r) {
      var parts = [];
      for (var k = 0; k < cols.length; k++) if (visibleColumn(k)) parts.push(shown(r[k]));
      return parts.join("\u0001").toLowerCase();
    });
  }

  // rows listed: those matching the filter, in the current order, PAGE at a time
  var PAGE = 250, limit = PAGE, matching = [];
  var more = document.getElementById("pairs-more"), all = document.getElementById("pairs-show-all");
  var listed = document.getElementById("pairs-listed");

  function applyFilter() {
    var terms = (filter ? filter.value : "").toLowerCase().split(/\s+/).filter(Boolean);
    matching = rows.map(function (_, i) {
      return terms.every(function (t) { return haystack[i].indexOf(t) >= 0; });
    });
    var n = matching.filter(Boolean).length;
    if (count) count.textContent = (terms.length ? "显示 " + fmt(n) + " / " : "共 ") + fmt(rows.length) + " 行";
    limit = PAGE;
    render();
  }

  function render() {
    var frag = document.createDocumentFragment(), n = 0, shown = 0;
    order.forEach(function (i) {
      if (!matching[i]) return;
      n++;
      if (shown < limit) { frag.appendChild(row(i)); shown++; }
    });
    tbody.textContent = "";
    tbody.appendChild(frag);
    var rest = n - shown;
    if (listed) listed.textContent = rest > 0 ? "已列出前 " + fmt(shown) + " 行，还有 " + fmt(rest) + " 行" : "";
    if (more) {
      more.hidden = rest <= 0;
      more.textContent = "再列出 " + fmt(Math.min(PAGE, rest)) + " 行";
    }
    if (all) all.hidden = rest <= 0;
  }

  if (more) more.addEventListener("click", function () { limit += PAGE; render(); });
  if (all) all.addEventListener("click", function () { limit = Infinity; render(); });

  function sortBy(k) {
    sortDir = sortKey === k ? -sortDir : 1;
    sortKey = k;
    var c = cols[k];
    order.sort(function (a, b) {
      var x = rows[a][k], y = rows[b][k], d;
      if (c.num) {
        x = number(x); y = number(y);
        if (isNaN(x) || isNaN(y)) d = isNaN(x) ? (isNaN(y) ? 0 : 1) : -1;  // blanks last, either way
        else d = sortDir * (x - y);
      } else {
        x = shown(x); y = shown(y);
        if (!x || !y) d = !x ? (!y ? 0 : 1) : -1;
        else d = sortDir * collator.compare(x, y);
      }
      return d || a - b;
    });
    ths.forEach(function (th, j) {
      th.setAttribute("aria-sort", j === k ? (sortDir > 0 ? "ascending" : "descending") : "none");
    });
    render();
  }

  if (filter) filter.addEventListener("input", applyFilter);
  if (allColumns) {
    allColumns.addEventListener("change", function () {
      table.classList.toggle("all", allColumns.checked);
      index();
      applyFilter();
    });
  }

  // a pair picked on the map marks its row in the table (when the table has it)
  var map = document.getElementById("pairs-map");
  var kd = cols.findIndex(function (c) { return c.key === "demand_id"; });
  var kl = cols.findIndex(function (c) { return c.key === "listing_id"; });
  if (map && kd >= 0 && kl >= 0) {
    var byPair = {};
    rows.forEach(function (r, i) { byPair[r[kd] + "\u0001" + r[kl]] = i; });
    map.addEventListener("svgmap:pick", function (e) {
      if (marked >= 0 && trs[marked]) trs[marked].classList.remove("on");
      var key = e.detail.getAttribute("data-d") + "\u0001" + e.detail.getAttribute("data-l");
      marked = byPair.hasOwnProperty(key) ? byPair[key] : -1;
      if (marked >= 0 && trs[marked]) trs[marked].classList.add("on");
    });
  }

  index();
  applyFilter();
})();
