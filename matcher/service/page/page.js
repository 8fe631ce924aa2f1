/* The matching page (厂房供需对接): vanilla JavaScript, no dependencies, no network beyond
   this server. One script renders every page from the URL; links are followed without
   reloading (history API) and every URL also works when opened directly.
   The staff token is kept in sessionStorage and sent in the Authorization header only. */
(function () {
  "use strict";

  var TOKEN_KEY = "changfang.token";
  var main = document.getElementById("main");
  var session = document.getElementById("session");
  var TOWNS = JSON.parse(document.getElementById("towns-data").textContent || "[]");
  var me = {staff: false, name: null};
  var generation = 0;  // a page drawn after a newer navigation started is dropped

  var CRITERIA = [["area", "面积"], ["location", "区位"], ["price", "价格"], ["industry", "产业"],
                  ["facilities", "设施"], ["timing", "时间"]];
  var DEAL_ZH = {lease: "出租", sale: "出售", lease_or_sale: "租售均可", buy: "求购", either: "租购均可"};
  var DEMAND_DEAL_ZH = {lease: "求租", buy: "求购", either: "租购均可"};
  var ACTION_ZH = {contacted: "已联系", signed: "已签约", refused: "不合适"};
  var METHOD_ZH = {auto: "自动（可分割厂房按单元共享）", one_to_one: "一对一", divisible: "可分割共享", stable: "双向稳定匹配"};
  var FIELD_ZH = {
    listing_id: "房源编号", demand_id: "需求编号", company: "企业名称", owner: "业主", contact: "联系方式",
    deal: "租售类型", town: "镇街", towns: "意向镇街", address: "地址", lat: "纬度", lon: "经度", park: "园区",
    micro_park: "小微企业园", area_m2: "面积（㎡）", min_unit_m2: "最小分割单元（㎡）", area_min_m2: "最小面积（㎡）",
    area_max_m2: "最大面积（㎡）", rent: "租金（元/㎡/月）", sale_price: "售价（元/㎡）", negotiable: "面议",
    max_rent: "租金预算（元/㎡/月）", max_sale_price: "购买预算（元/㎡）", floor: "楼层", clear_height_m: "净高（米）",
    floor_load_kg_m2: "承重（kg/㎡）", power_kva: "电力（kVA）", crane_t: "行车（吨）", fire_class: "火灾危险性类别",
    eia_ok: "可环评", needs_eia: "需环评", industries_allowed: "准入行业", industries_banned: "禁入行业",
    title_certificate: "不动产权证", needs_certificate: "需产权证", available_from: "可入驻日期",
    min_lease_months: "最短租期（月）", lease_months: "租期（月）", move_in_by: "最晚入驻", min_tax_per_mu: "亩均税收门槛（万元/亩）",
    min_rating: "亩均评价门槛", tax_per_mu: "亩均税收（万元/亩）", rating: "亩均评价", srdi: "专精特新",
    industry_code: "行业代码", origin: "现址", anchor: "配套龙头企业", max_distance_km: "最远距离（公里）",
    min_clear_height_m: "最低净高（米）", min_floor_load_kg_m2: "最低承重（kg/㎡）", min_power_kva: "最低电力（kVA）",
    ground_floor: "需一楼", crane_any: "有行车（吨位未写）", divisible_any: "可分割（单元未写）", remark: "备注",
    registered: "登记日期", updated: "更新日期"
  };
  var HIDDEN_FIELDS = {lat: 1, lon: 1, origin_lat: 1, origin_lon: 1, anchor_lat: 1, anchor_lon: 1, unread: 1, extra: 1};

  // ---------------------------------------------------------------- small helpers

  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "text") el.textContent = v;
        else if (k === "class") el.className = v;
        else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? "" : v);
      });
    }
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }

  function add(el, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { add(el, c); }); return; }
    el.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  function num(v, digits) {
    if (v === null || v === undefined || v === "" || isNaN(v)) return "—";
    return Number(v).toLocaleString("zh-CN", {maximumFractionDigits: digits === undefined ? 2 : digits});
  }

  function pct(v) { return v === null || v === undefined ? "—" : Math.round(v * 100) + " 分"; }

  function fieldValue(k, v) {
    if (v === null || v === undefined || v === "") return null;
    if (Array.isArray(v)) return v.length ? v.join("、") : null;
    if (typeof v === "boolean") return v ? "是" : "否";
    if (k === "deal") return DEAL_ZH[v] || v;
    if (typeof v === "number") return num(v, 2);
    if (v === "now") return "现在";
    return String(v);
  }

  function link(href, text, cls) {
    return h("a", {href: href, "data-link": true, "class": cls || null}, text);
  }

  function recordPath(side, id) { return "/" + side + "s/" + encodeURIComponent(id); }

  function token() { try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; } }

  // ---------------------------------------------------------------- talking to the server

  function ApiError(status, message) { this.status = status; this.message = message; }

  function explain(status, body) {
    if (status === 0) return "无法连接服务器，请检查网络后重试。";
    if (status === 401) return token() ? "工作人员令牌无效或已失效，请重新登录。" : "此操作仅限工作人员，请先在页面顶部登录。";
    if (status === 404) return "未找到：" + (body && typeof body.detail === "string" ? body.detail : "该记录不存在或已删除。");
    if (status === 413) return "文件太大，服务器拒收。";
    if (status === 422 && body && Array.isArray(body.detail)) {
      return "请求有误：" + body.detail.map(function (d) {
        return (d.msg_zh || d.msg) + (d.loc ? "（" + d.loc.filter(function (x) { return x !== "body"; }).join(".") + "）" : "");
      }).join("；");
    }
    if (status === 503) return "服务器正忙，请稍后重试。";
    return "服务器出错（" + status + "），请稍后重试。";
  }

  function api(path, opts) {
    opts = opts || {};
    var headers = {};
    var t = token();
    if (t) headers.Authorization = "Bearer " + t;
    if (opts.json !== undefined) headers["Content-Type"] = "application/json";
    var init = {method: opts.method || "GET", headers: headers, credentials: "omit", cache: "no-store"};
    if (opts.json !== undefined) init.body = JSON.stringify(opts.json);
    if (opts.body !== undefined) { init.body = opts.body; headers["Content-Type"] = "application/octet-stream"; }
    return fetch(path, init).then(function (r) {
      if (r.status === 401 && t) { forget(); }
      var kind = opts.as || "json";
      if (!r.ok) {
        return r.json().catch(function () { return null; }).then(function (b) { throw new ApiError(r.status, explain(r.status, b)); });
      }
      return kind === "blob" ? r.blob() : kind === "text" ? r.text() : r.json();
    }, function () { throw new ApiError(0, explain(0)); });
  }

  function errorBox(err, retry) {
    var msg = err && err.message ? err.message : String(err);
    return h("div", {"class": "alert", role: "alert"}, msg, " ",
             retry ? h("button", {type: "button", "class": "secondary", onclick: retry}, "重试") : null);
  }

  function loading(text) { return h("p", {"class": "loading", role: "status"}, text || "正在加载…"); }

  function save(blob, name) {  // a download fetched with the token, saved from memory (no token in any URL)
    var url = URL.createObjectURL(blob);
    var a = h("a", {href: url, download: name});
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(url); a.remove(); }, 1000);
  }

  // ---------------------------------------------------------------- session (the staff token)

  function forget() {
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* private mode */ }
    me = {staff: false, name: null};
    drawSession("令牌无效或已失效，请重新登录。");
  }

  function drawSession(message) {
    clear(session);
    if (me.staff) {
      add(session, [h("span", {text: "工作人员：" + me.name}),
        h("button", {type: "button", "class": "secondary", onclick: function () {
          try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ }
          me = {staff: false, name: null};
          drawSession();
          route();
        }}, "退出")]);
      return;
    }
    var input = h("input", {id: "token", type: "password", autocomplete: "off", name: "token", required: true});
    var form = h("form", {"aria-label": "工作人员登录", onsubmit: function (e) {
      e.preventDefault();
      login(input.value.trim());
    }}, h("label", {"for": "token"}, "工作人员令牌"), input, h("button", {type: "submit"}, "登录"));
    add(session, form);
    if (message) add(session, h("span", {role: "alert", "class": "session-msg"}, message));
  }

  function login(t) {
    if (!t) return;
    try { sessionStorage.setItem(TOKEN_KEY, t); } catch (e) { /* private mode: this page only */ }
    whoami().then(function () {
      if (!me.staff) { forget(); return; }
      drawSession();
      route();
    });
  }

  function whoami() {
    if (!token()) { me = {staff: false, name: null}; return Promise.resolve(me); }
    return api("/v1/whoami").then(function (w) { me = w; return me; }, function () { me = {staff: false, name: null}; return me; });
  }

  // ---------------------------------------------------------------- routing

  function route() {
    var path = location.pathname, m;
    var gen = ++generation;
    [].forEach.call(document.querySelectorAll(".top nav a"), function (a) {
      var here = a.getAttribute("href") === "/" ? path === "/" || /^\/(demands|listings)\//.test(path)
        : path.indexOf(a.getAttribute("href")) === 0;
      if (here) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    });
    clear(main);
    if (path === "/") return searchPage(gen);
    if ((m = /^\/demands\/([^/]+)$/.exec(path))) return recordPage(gen, "demand", decodeURIComponent(m[1]));
    if ((m = /^\/listings\/([^/]+)$/.exec(path))) return recordPage(gen, "listing", decodeURIComponent(m[1]));
    if (path === "/runs") return runsPage(gen);
    if ((m = /^\/runs\/([0-9a-f]{32})$/.exec(path))) return runPage(gen, m[1]);
    if (path === "/upload") return uploadPage(gen);
    add(main, [h("h1", {tabindex: "-1"}, "页面不存在"), h("p", null, link("/", "返回查找"))]);
  }

  function go(href) {
    history.pushState(null, "", href);
    route();
    window.scrollTo(0, 0);
  }

  function title(text) {
    document.title = text + " · 厂房供需对接";
    var el = h("h1", {tabindex: "-1"}, text);
    add(main, el);
    return el;
  }

  function focusTitle() {  // after a navigation, keyboard and screen reader users start at the heading
    var t = main.querySelector("h1");
    if (t && document.activeElement !== document.getElementById("token")) t.focus({preventScroll: true});
  }

  document.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest("a[data-link]") : null;
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    go(a.getAttribute("href"));
    focusTitle();
  });
  window.addEventListener("popstate", function () { route(); });

  function staffOnly(what) {
    add(main, h("div", {"class": "notice", role: "note"}, what + "仅限工作人员使用。请在页面顶部输入工作人员令牌登录。"));
    var input = document.getElementById("token");
    if (input) input.focus();
  }

  // ---------------------------------------------------------------- / : search

  function searchPage(gen) {
    var q = new URLSearchParams(location.search);
    var side = q.get("side") === "listings" ? "listings" : "demands";
    title("查找需求与房源");
    var townSel = h("select", {id: "f-town", name: "town"}, h("option", {value: ""}, "全部镇街"),
      TOWNS.map(function (t) { return h("option", {value: t.name, selected: q.get("town") === t.name}, t.name); }));
    var dealSel = h("select", {id: "f-deal", name: "deal"}, h("option", {value: ""}, "不限"),
      h("option", {value: "lease", selected: q.get("deal") === "lease"}, "租"),
      h("option", {value: "sale", selected: q.get("deal") === "sale"}, "售 / 购"));
    var amin = h("input", {id: "f-amin", name: "area_min", type: "number", min: "0", step: "any", inputmode: "decimal",
      value: q.get("area_min") || ""});
    var amax = h("input", {id: "f-amax", name: "area_max", type: "number", min: "0", step: "any", inputmode: "decimal",
      value: q.get("area_max") || ""});
    var ind = h("input", {id: "f-ind", name: "industry", inputmode: "numeric", pattern: "[0-9]{1,4}", maxlength: "4",
      placeholder: "如 2929", value: q.get("industry") || ""});
    var text = h("input", {id: "f-q", name: "q", type: "search", maxlength: "50", placeholder: "企业名称、业主或编号",
      value: q.get("q") || ""});
    var form = h("form", {"class": "card filters", role: "search", "aria-label": "筛选条件", onsubmit: function (e) {
      e.preventDefault();
      var p = new URLSearchParams();
      p.set("side", side);
      [["town", townSel], ["deal", dealSel], ["area_min", amin], ["area_max", amax], ["industry", ind], ["q", text]]
        .forEach(function (x) { if (x[1].value.trim()) p.set(x[0], x[1].value.trim()); });
      history.replaceState(null, "", "/?" + p.toString());
      route();
    }},
      h("div", {"class": "wide"}, h("label", {"for": "f-q"}, "关键词"), text),
      h("div", null, h("label", {"for": "f-town"}, "镇街"), townSel),
      h("div", null, h("label", {"for": "f-deal"}, "租售"), dealSel),
      h("div", null, h("label", {"for": "f-amin"}, "面积下限（㎡）"), amin),
      h("div", null, h("label", {"for": "f-amax"}, "面积上限（㎡）"), amax),
      h("div", null, h("label", {"for": "f-ind"}, "行业代码"), ind),
      h("div", null, h("button", {type: "submit"}, "查找")));
    add(main, form);

    var tabs = h("div", {"class": "tabs", role: "tablist", "aria-label": "记录类别"});
    var counts = {};
    var panel = h("section", {id: "results", role: "tabpanel", "aria-live": "polite"});
    [["demands", "需求（求租求购）"], ["listings", "房源（出租出售）"]].forEach(function (t) {
      counts[t[0]] = h("span", {"class": "count"}, "");
      add(tabs, h("button", {type: "button", role: "tab", id: "tab-" + t[0], "aria-selected": String(side === t[0]),
        "aria-controls": "results", tabindex: side === t[0] ? "0" : "-1", onclick: function () {
          q.set("side", t[0]);
          history.replaceState(null, "", "/?" + q.toString());
          route();
          var b = document.getElementById("tab-" + t[0]);
          if (b) b.focus();
        }, onkeydown: function (e) {
          if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
            e.preventDefault();
            document.getElementById(t[0] === "demands" ? "tab-listings" : "tab-demands").click();
          }
        }}, t[1], " ", counts[t[0]]));
    });
    panel.setAttribute("aria-labelledby", "tab-" + side);
    add(main, [tabs, panel]);

    function params(s) {
      var p = new URLSearchParams();
      ["town", "area_min", "area_max", "industry", "q"].forEach(function (k) { if (q.get(k)) p.set(k, q.get(k)); });
      var deal = q.get("deal");
      if (deal) p.set("deal", deal === "sale" && s === "demands" ? "buy" : deal);
      return p;
    }
    ["demands", "listings"].forEach(function (s) {
      if (s === side) return;
      var p = params(s);
      p.set("limit", "1");
      api("/v1/" + s + "?" + p.toString()).then(function (r) {
        if (gen === generation) counts[s].textContent = "（" + r.total + "）";
      }, function () { /* the other tab's count is a courtesy */ });
    });
    function page(cursor, list, more) {
      var p = params(side);
      p.set("limit", "30");
      if (cursor) p.set("cursor", cursor);
      var wait = loading("正在查找…");
      add(panel, wait);
      api("/v1/" + side + "?" + p.toString()).then(function (r) {
        if (gen !== generation) return;
        wait.remove();
        counts[side].textContent = "（" + r.total + "）";
        if (!list) {
          add(panel, h("p", {"class": "meta"}, "共 " + r.total + " 条"));
          list = h("ul", {"class": "results", id: "result-list"});
          add(panel, list);
        }
        r.items.forEach(function (it) { add(list, side === "demands" ? demandItem(it) : listingItem(it)); });
        if (more) more.remove();
        if (r.next_cursor) {
          var b = h("button", {type: "button", "class": "secondary", onclick: function () { page(r.next_cursor, list, b); }},
                    "加载更多");
          add(panel, b);
        } else if (!r.total) {
          add(panel, h("p", {"class": "notice"}, "没有符合条件的记录，请放宽筛选条件。"));
        }
      }, function (err) {
        if (gen !== generation) return;
        wait.remove();
        add(panel, errorBox(err, function () { route(); }));
      });
    }
    page(null, null, null);
  }

  function demandItem(d) {
    var area = d.area_min_m2 || d.area_max_m2 ? num(d.area_min_m2, 0) + "–" + (d.area_max_m2 ? num(d.area_max_m2, 0) : "不限") + " ㎡" : "";
    return h("li", null, link(recordPath("demand", d.demand_id), (d.company || "（未填企业名称）") + "　" + d.demand_id, "title"),
      h("div", {"class": "meta"}, [DEMAND_DEAL_ZH[d.deal] || "", area, (d.towns || []).join("、"),
        d.industry_code ? "行业 " + d.industry_code : ""].filter(Boolean).join(" · ")));
  }

  function listingItem(l) {
    var price = l.rent ? num(l.rent) + " 元/㎡/月" : l.sale_price ? num(l.sale_price, 0) + " 元/㎡" : l.negotiable ? "面议" : "";
    return h("li", null, link(recordPath("listing", l.listing_id), l.listing_id + "　" + (l.town || "") + (l.park ? " · " + l.park : ""), "title"),
      h("div", {"class": "meta"}, [DEAL_ZH[l.deal] || "", l.area_m2 ? num(l.area_m2, 0) + " ㎡" : "", price,
        l.owner || ""].filter(Boolean).join(" · ")));
  }

  // ---------------------------------------------------------------- /demands/{id}, /listings/{id}

  function recordPage(gen, side, id) {
    var other = side === "demand" ? "listing" : "demand";
    var plural = side + "s";
    var h1 = title((side === "demand" ? "需求 " : "房源 ") + id);
    var detail = h("section", {"class": "card", "aria-labelledby": "detail-h"}, h("h2", {id: "detail-h"}, side === "demand" ? "企业填报的需求" : "房源信息"), loading());
    var recs = h("section", {id: "recs", "aria-labelledby": "recs-h", "aria-busy": "true", "data-state": "loading"},
      h("h2", {id: "recs-h"}, side === "demand" ? "推荐房源" : "推荐企业"), loading("正在计算推荐…"));
    var near = h("section", {id: "near", "aria-labelledby": "near-h"},
      h("h2", {id: "near-h"}, side === "demand" ? "差一点的房源（不满足的硬性条件）" : "差一点的企业（不满足的硬性条件）"), loading());
    var mapBox = h("section", {"class": "card map-box", "aria-labelledby": "map-h"}, h("h2", {id: "map-h"}, "地图"),
      h("div", {"class": "legend"}, side === "demand"
        ? ["红字：意向镇街", "紫点：现址或配套龙头", "蓝方块：推荐房源", "黄框方块：差一点的房源"].map(function (t) { return h("span", null, t); })
        : ["红方块：本房源", "蓝点：推荐企业"].map(function (t) { return h("span", null, t); })),
      h("div", {id: "map"}, loading("正在绘制地图…")));
    var history_ = me.staff ? h("section", {id: "history", "aria-labelledby": "hist-h"}, h("h2", {id: "hist-h"}, "跟进记录")) : null;
    add(main, [detail, h("div", {"class": "layout"}, h("div", null, recs, near, history_), h("div", null, mapBox))]);

    var fbPromise = me.staff ? api("/v1/feedback?" + new URLSearchParams([[side + "_id", id], ["limit", "500"]])).catch(function () { return {items: []}; })
      : Promise.resolve({items: []});
    var recPromise = api("/v1/" + plural + "/" + encodeURIComponent(id) + "/recommendations?k=10");
    var nearPromise = api("/v1/" + plural + "/" + encodeURIComponent(id) + "/near-misses?k=5");

    api("/v1/" + plural + "/" + encodeURIComponent(id)).then(function (rec) {
      if (gen !== generation) return;
      if (side === "demand" && rec.company) h1.textContent = rec.company + "（需求 " + id + "）";
      else if (side === "listing") h1.textContent = "房源 " + id + (rec.town ? " · " + rec.town : "") + (rec.park ? " · " + rec.park : "");
      document.title = h1.textContent + " · 厂房供需对接";
      detail.lastChild.remove();
      add(detail, fields(rec));
    }, function (err) {
      if (gen !== generation) return;
      detail.lastChild.remove();
      add(detail, errorBox(err, function () { route(); }));
    });

    var shown = {proposed: null, near: null};
    function drawMap() {
      if (shown.proposed === null || shown.near === null) return;
      var p = new URLSearchParams();
      shown.proposed.forEach(function (x) { p.append("proposed", x); });
      shown.near.forEach(function (x) { p.append("near", x); });
      api("/v1/" + plural + "/" + encodeURIComponent(id) + "/map?" + p.toString(), {as: "text"}).then(function (svg) {
        if (gen !== generation) return;
        var box = document.getElementById("map");
        box.innerHTML = svg;  // markup drawn and escaped by the server (matcher.viz.svgmap)
        if (window.svgmap) window.svgmap.start();
      }, function (err) {
        if (gen !== generation) return;
        var box = document.getElementById("map");
        clear(box);
        add(box, errorBox(err));
      });
    }

    function drawRecs() {
      Promise.all([recPromise, fbPromise]).then(function (got) {
        if (gen !== generation) return;
        var r = got[0], fb = lastActions(got[1].items, side);
        clear(recs);
        add(recs, h("h2", {id: "recs-h"}, side === "demand" ? "推荐房源" : "推荐企业"));
        if (!r.recommendations.length) {
          add(recs, h("p", {"class": "notice"}, "暂无满足全部硬性条件的" + (side === "demand" ? "房源" : "企业") + "，请看下方“差一点”的候选，考虑放宽条件。"));
        }
        var ol = h("ol", {"class": "recs", id: "rec-list"});
        r.recommendations.forEach(function (it) { add(ol, recItem(side, id, it, fb[it.id])); });
        add(recs, ol);
        recs.setAttribute("aria-busy", "false");
        recs.setAttribute("data-state", "ready");
        shown.proposed = r.recommendations.map(function (x) { return x.id; });
        drawMap();
      }, function (err) {
        if (gen !== generation) return;
        clear(recs);
        add(recs, [h("h2", {id: "recs-h"}, "推荐"), errorBox(err, function () { route(); })]);
        recs.setAttribute("aria-busy", "false");
        recs.setAttribute("data-state", "error");
        shown.proposed = [];
        drawMap();
      });
    }
    drawRecs();

    nearPromise.then(function (r) {
      if (gen !== generation) return;
      clear(near);
      add(near, h("h2", {id: "near-h"}, side === "demand" ? "差一点的房源（不满足的硬性条件）" : "差一点的企业（不满足的硬性条件）"));
      if (!r.items.length) add(near, h("p", {"class": "meta"}, "没有差一点的候选。"));
      var ul = h("ol", {"class": "recs", id: "near-list"});
      r.items.forEach(function (it) {
        add(ul, h("li", {"class": "rec near", "data-id": it.id},
          h("div", {"class": "rec-head"}, link(recordPath(other, it.id), it.id, "title"),
            h("span", {"class": "meta"}, headline(other, it.summary, it.distance_km)),
            h("span", {"class": "meta"}, "放宽后约 " + pct(it.score))),
          h("p", {"class": "reasons"}, "不满足：" + it.failed.map(function (f) { return f.label_zh; }).join("、")),
          h("ul", null, it.failed.map(function (f) { return h("li", null, f.zh); }))));
      });
      add(near, ul);
      shown.near = side === "demand" ? r.items.map(function (x) { return x.id; }) : [];
      drawMap();
    }, function (err) {
      if (gen !== generation) return;
      clear(near);
      add(near, errorBox(err));
      shown.near = [];
      drawMap();
    });

    if (history_) {
      fbPromise.then(function (r) {
        if (gen !== generation) return;
        if (!r.items.length) { add(history_, h("p", {"class": "meta"}, "暂无跟进记录。")); return; }
        add(history_, h("div", {"class": "table-wrap"}, h("table", null,
          h("thead", null, h("tr", null, ["时间", side === "demand" ? "房源" : "需求", "结果", "说明", "记录人"].map(function (t) { return h("th", {scope: "col"}, t); }))),
          h("tbody", null, r.items.slice().reverse().map(function (f) {
            var o = side === "demand" ? f.listing_id : f.demand_id;
            return h("tr", null, h("td", null, f.created.replace("T", " ").replace("+00:00", " UTC")),
              h("td", null, link(recordPath(other, o), o)), h("td", null, h("span", {"class": "badge " + f.action}, ACTION_ZH[f.action])),
              h("td", null, f.note || ""), h("td", null, f.who));
          })))));
      });
    }
  }

  function lastActions(items, side) {
    var out = {};
    items.forEach(function (f) { out[side === "demand" ? f.listing_id : f.demand_id] = f; });
    return out;
  }

  function fields(rec) {
    var dl = h("dl", {"class": "fields"});
    Object.keys(rec).forEach(function (k) {
      if (HIDDEN_FIELDS[k]) return;
      var v = fieldValue(k, k === "deal" && rec.demand_id ? (DEMAND_DEAL_ZH[rec[k]] || rec[k]) : rec[k]);
      var said = rec.unread && rec.unread[k];
      if (v === null && !said) return;
      add(dl, [h("dt", null, FIELD_ZH[k] || k), h("dd", null, v !== null ? v : "", said ? (v !== null ? "（原文：" + said + "）" : "原文：" + said) : null)]);
    });
    Object.keys(rec.unread || {}).forEach(function (k) {
      if (k in rec) return;
      add(dl, [h("dt", null, FIELD_ZH[k] || k), h("dd", null, "原文：" + rec.unread[k])]);
    });
    Object.keys(rec.extra || {}).forEach(function (k) {
      if (rec.extra[k]) add(dl, [h("dt", null, k), h("dd", null, rec.extra[k])]);
    });
    return dl;
  }

  function headline(kind, s, dist) {
    s = s || {};
    var parts = [];
    if (kind === "listing") {
      if (s.town) parts.push(s.town);
      if (s.area_m2) parts.push(num(s.area_m2, 0) + " ㎡" + (s.min_unit_m2 ? "（可分割，最小 " + num(s.min_unit_m2, 0) + " ㎡）" : ""));
      if (s.rent) parts.push("租金 " + num(s.rent) + " 元/㎡/月");
      if (s.sale_price) parts.push("售价 " + num(s.sale_price, 0) + " 元/㎡");
      if (!s.rent && !s.sale_price && s.negotiable) parts.push("价格面议");
    } else {
      if (s.company) parts.push(s.company);
      if (s.area_min_m2 || s.area_max_m2) parts.push("需 " + num(s.area_min_m2, 0) + "–" + (s.area_max_m2 ? num(s.area_max_m2, 0) : "不限") + " ㎡");
      if (s.max_rent) parts.push("租金预算 " + num(s.max_rent) + " 元/㎡/月");
      if (s.max_sale_price) parts.push("购买预算 " + num(s.max_sale_price, 0) + " 元/㎡");
    }
    if (dist !== null && dist !== undefined) parts.push("距离 " + num(dist, 1) + " 公里");
    return parts.join(" · ");
  }

  function recItem(side, id, it, fb) {
    var other = side === "demand" ? "listing" : "demand";
    var pair = side === "demand" ? {demand_id: id, listing_id: it.id} : {demand_id: it.id, listing_id: id};
    var bars = h("div", {"class": "bars", role: "list", "aria-label": "各项得分"});
    CRITERIA.forEach(function (c) {
      var v = it.criteria[c[0]];
      if (v === undefined) return;
      var fill = h("span");
      fill.style.width = Math.max(0, Math.min(100, v * 100)) + "%";  // CSSOM: allowed by the page's policy
      add(bars, [h("span", {role: "listitem"}, c[1]), h("div", {"class": "bar", "aria-hidden": "true"}, fill),
        h("span", {"class": "meta"}, Math.round(v * 100))]);
    });
    var li = h("li", {"class": "rec", "data-id": it.id},
      h("div", {"class": "rec-head"}, h("span", {"class": "rank", "aria-label": "第 " + it.rank + " 名"}, it.rank),
        link(recordPath(other, it.id), (other === "demand" && it.summary && it.summary.company ? it.summary.company + " " : "") + it.id, "title"),
        h("span", {"class": "score"}, pct(it.score)),
        fb ? h("span", {"class": "badge " + fb.action}, ACTION_ZH[fb.action]) : null),
      h("div", {"class": "meta"}, headline(other, it.summary, it.distance_km)),
      bars,
      h("p", {"class": "reasons"}, it.reasons_zh));
    if (me.staff) add(li, actions(pair, li));
    return li;
  }

  function actions(pair, li) {
    var box = h("div", {"class": "actions", role: "group", "aria-label": "记录跟进结果"});
    var status = h("span", {role: "status", "class": "meta"});
    function send(action, note, btn) {
      btn.disabled = true;
      status.textContent = "正在保存…";
      api("/v1/feedback", {method: "POST", json: {demand_id: pair.demand_id, listing_id: pair.listing_id, action: action, note: note || ""}})
        .then(function () {
          status.textContent = "已记录：" + ACTION_ZH[action];
          if (action === "contacted") { btn.disabled = false; return; }
          route();  // refused pairs leave the list, signed ones take the plant off others' lists
        }, function (err) {
          btn.disabled = false;
          status.textContent = "";
          add(box, errorBox(err));
        });
    }
    var contacted = h("button", {type: "button", "class": "secondary", onclick: function () { send("contacted", "", contacted); }}, "已联系");
    var signed = h("button", {type: "button", "class": "secondary", onclick: function () { send("signed", "", signed); }}, "已签约");
    var refuse = h("button", {type: "button", "class": "danger", "aria-expanded": "false", onclick: function () {
      if (li.querySelector(".refuse-form")) return;
      refuse.setAttribute("aria-expanded", "true");
      var fid = "why-" + pair.demand_id + "-" + pair.listing_id;
      var why = h("input", {id: fid, maxlength: "500", placeholder: "例如：面积偏小、价格谈不拢"});
      var ok = h("button", {type: "submit", "class": "danger"}, "确认不合适");
      var form = h("form", {"class": "refuse-form", onsubmit: function (e) { e.preventDefault(); send("refused", why.value.trim(), ok); }},
        h("div", null, h("label", {"for": fid}, "不合适的原因（可不填）"), why), ok,
        h("button", {type: "button", "class": "secondary", onclick: function () { form.remove(); refuse.setAttribute("aria-expanded", "false"); refuse.focus(); }}, "取消"));
      add(li, form);
      why.focus();
    }}, "不合适");
    add(box, [contacted, signed, refuse, status]);
    return box;
  }

  // ---------------------------------------------------------------- /runs and /runs/{id}

  function runsPage(gen) {
    title("全局匹配");
    if (!me.staff) { staffOnly("全局匹配"); return; }
    var method = h("select", {id: "r-method"}, Object.keys(METHOD_ZH).map(function (k) { return h("option", {value: k}, METHOD_ZH[k]); }));
    var reservation = h("input", {id: "r-res", type: "number", min: "0", max: "1", step: "0.01", inputmode: "decimal", placeholder: "默认"});
    var topk = h("input", {id: "r-k", type: "number", min: "0", max: "100", step: "1", value: "5"});
    var status = h("div", {role: "status", "aria-live": "polite"});
    var start = h("button", {type: "submit"}, "开始匹配");
    var form = h("form", {"class": "card filters", "aria-label": "新的全局匹配", onsubmit: function (e) {
      e.preventDefault();
      var body = {method: method.value, top_k: parseInt(topk.value || "5", 10), per_party: true};
      if (reservation.value !== "") body.profile = {reservation: parseFloat(reservation.value)};
      start.disabled = true;
      clear(status);
      add(status, loading("正在计算全局匹配，大的市场可能需要一两分钟…"));
      api("/v1/match", {method: "POST", json: body}).then(function (r) {
        if (gen !== generation) return;
        go("/runs/" + r.id);
        focusTitle();
      }, function (err) {
        start.disabled = false;
        clear(status);
        add(status, errorBox(err));
      });
    }},
      h("div", null, h("label", {"for": "r-method"}, "分配方式"), method),
      h("div", null, h("label", {"for": "r-res"}, "最低得分（0–1）"), reservation),
      h("div", null, h("label", {"for": "r-k"}, "每个需求的推荐数"), topk),
      h("div", null, start), h("div", {"class": "wide"}, status),
      h("p", {"class": "wide meta"}, "已签约的配对会被锁定，标记为不合适的配对不会再被分配。"));
    add(main, form);
    var list = h("section", {"aria-labelledby": "runs-h"}, h("h2", {id: "runs-h"}, "历次匹配"), loading());
    add(main, list);
    api("/v1/runs?limit=50").then(function (r) {
      if (gen !== generation) return;
      list.lastChild.remove();
      if (!r.items.length) { add(list, h("p", {"class": "meta"}, "尚未运行过全局匹配。")); return; }
      add(list, h("div", {"class": "table-wrap"}, h("table", {id: "runs-table"},
        h("thead", null, h("tr", null, ["时间", "方式", "配对", "未匹配需求", "未匹配房源", "锁定"].map(function (t) { return h("th", {scope: "col"}, t); }))),
        h("tbody", null, r.items.map(function (x) {
          return h("tr", null, h("td", null, link("/runs/" + x.id, x.created.replace("T", " ").replace("+00:00", " UTC"))),
            h("td", null, METHOD_ZH[x.method] || x.method), h("td", {"class": "num"}, x.counts.matched),
            h("td", {"class": "num"}, x.counts.unmatched_demands), h("td", {"class": "num"}, x.counts.unmatched_listings),
            h("td", {"class": "num"}, x.counts.locked === undefined ? "—" : x.counts.locked));
        })))));
    }, function (err) { list.lastChild.remove(); add(list, errorBox(err, function () { route(); })); });
  }

  var ROWS_SHOWN = 500;

  function runPage(gen, id) {
    var h1 = title("全局匹配结果");
    if (!me.staff) { staffOnly("匹配结果"); return; }
    var body = h("div", null, loading());
    add(main, body);
    Promise.all([api("/v1/runs/" + id), api("/v1/runs/" + id + "/files")]).then(function (got) {
      if (gen !== generation) return;
      var run = got[0], files = got[1];
      clear(body);
      h1.textContent = "全局匹配结果（" + run.created.replace("T", " ").replace("+00:00", " UTC") + "）";
      var c = run.counts;
      add(body, h("p", {"class": "card"}, "方式：" + (METHOD_ZH[run.method] || run.method) + "；房源 " + c.listings + " 条，需求 " + c.demands +
        " 条；配对 " + c.matched + " 对（其中已签约锁定 " + (c.locked || 0) + " 对）；未匹配需求 " + c.unmatched_demands +
        " 条，未匹配房源 " + c.unmatched_listings + " 条；总分 " + num(run.objective, 3) + "。"));
      var dl = h("section", {"aria-labelledby": "dl-h"}, h("h2", {id: "dl-h"}, "下载"));
      var buttons = h("div", {"class": "downloads"});
      function download(name, label) {
        var b = h("button", {type: "button", "class": "secondary", onclick: function () {
          b.disabled = true;
          api("/v1/runs/" + id + "/files/" + encodeURIComponent(name).replace(/%2F/g, "/"), {as: "blob"}).then(function (blob) {
            b.disabled = false;
            save(blob, name.split("/").pop());
          }, function (err) { b.disabled = false; add(dl, errorBox(err)); });
        }}, label);
        return b;
      }
      add(buttons, download("result.xlsx", "下载 result.xlsx（全部结果）"));
      var parties = files.files.filter(function (f) { return f.name.indexOf("parties/") === 0; });
      if (parties.length) add(buttons, download("parties.zip", "下载分方工作簿（" + parties.length + " 个，zip）"));
      add(dl, buttons);
      if (parties.length) {
        add(dl, h("details", null, h("summary", null, "逐个下载分方工作簿（含联系方式，仅供转发给当事方）"),
          h("ul", null, parties.map(function (f) { return h("li", null, download(f.name, f.name.slice(8))); }))));
      } else if (files.parties_note) {
        add(dl, h("p", {"class": "meta"}, files.parties_note));
      }
      add(body, dl);
      add(body, h("h2", null, "配对（" + run.pairs.length + "）"));
      if (run.pairs.length > ROWS_SHOWN) add(body, h("p", {"class": "meta"}, "仅显示前 " + ROWS_SHOWN + " 对，完整结果见 result.xlsx。"));
      add(body, h("div", {"class": "table-wrap"}, h("table", {id: "pairs-table"},
        h("thead", null, h("tr", null, ["需求", "房源", "得分", "分配面积（㎡）", "状态", "理由"].map(function (t) { return h("th", {scope: "col"}, t); }))),
        h("tbody", null, run.pairs.slice(0, ROWS_SHOWN).map(function (p) {
          return h("tr", {"data-demand": p.demand_id, "data-listing": p.listing_id},
            h("td", null, link(recordPath("demand", p.demand_id), p.demand_id)),
            h("td", null, link(recordPath("listing", p.listing_id), p.listing_id)),
            h("td", {"class": "num"}, p.score === null ? "—" : pct(p.score)), h("td", {"class": "num"}, num(p.allocated_area_m2, 0)),
            h("td", null, p.locked ? h("span", {"class": "badge signed"}, "已签约锁定") : "新配对"),
            h("td", null, p.reasons_zh));
        })))));
      add(body, h("h2", null, "未匹配（" + run.unmatched.length + "）"));
      if (run.unmatched.length > ROWS_SHOWN) add(body, h("p", {"class": "meta"}, "仅显示前 " + ROWS_SHOWN + " 条，完整结果见 result.xlsx。"));
      add(body, h("div", {"class": "table-wrap"}, h("table", {id: "unmatched-table"},
        h("thead", null, h("tr", null, ["类别", "编号", "原因"].map(function (t) { return h("th", {scope: "col"}, t); }))),
        h("tbody", null, run.unmatched.slice(0, ROWS_SHOWN).map(function (u) {
          return h("tr", null, h("td", null, u.side === "demand" ? "需求" : "房源"),
            h("td", null, link(recordPath(u.side, u.id), u.id)), h("td", null, u.reason_zh));
        })))));
    }, function (err) {
      if (gen !== generation) return;
      clear(body);
      add(body, errorBox(err, function () { route(); }));
    });
  }

  // ---------------------------------------------------------------- /upload

  function uploadPage(gen) {
    title("上传房源或需求文件");
    if (!me.staff) { staffOnly("上传文件"); return; }
    var side = h("select", {id: "u-side"}, h("option", {value: "listings"}, "房源（出租、出售）"), h("option", {value: "demands"}, "需求（求租、求购）"));
    var file = h("input", {id: "u-file", type: "file", required: true, accept: ".xlsx,.xlsm,.csv,.txt,.json,.jsonl"});
    var send = h("button", {type: "submit"}, "上传并校验");
    var out = h("section", {id: "upload-result", "aria-live": "polite"});
    var form = h("form", {"class": "card filters", "aria-label": "上传文件", onsubmit: function (e) {
      e.preventDefault();
      var f = file.files && file.files[0];
      if (!f) return;
      send.disabled = true;
      clear(out);
      add(out, loading("正在读取和校验 " + f.name + "…"));
      f.arrayBuffer().then(function (buf) {
        return api("/v1/upload/" + side.value + "?filename=" + encodeURIComponent(f.name), {method: "POST", body: buf});
      }).then(function (r) {
        if (gen !== generation) return;
        send.disabled = false;
        clear(out);
        add(out, h("p", {"class": r.rejected.length ? "notice" : "ok", role: "status"}, "读取 " + r.rows + " 行：已保存 " + r.accepted.length +
          " 条，" + (r.rejected.length ? "以下 " + countRows(r.rejected) + " 行未保存。" : "没有被拒绝的行。")));
        if (r.rejected.length) add(out, [h("h2", null, "未保存的行"), problems(r.rejected, "rejects-table")]);
        if (r.rejected.length && r.rejected[0].row === 0) out.firstChild.textContent = "文件未能读取，没有保存任何记录：" + r.rejected[0].reason_zh;
        if (r.warnings.length) add(out, h("details", null, h("summary", null, "已保存但有提示的单元格（" + r.warnings.length + "）"), problems(r.warnings, "warnings-table")));
      }, function (err) {
        send.disabled = false;
        clear(out);
        add(out, errorBox(err));
      });
    }},
      h("div", null, h("label", {"for": "u-side"}, "文件内容"), side),
      h("div", {"class": "wide"}, h("label", {"for": "u-file"}, "Excel（.xlsx）、CSV（UTF-8 或 GBK）或 JSON 文件"), file),
      h("div", null, send),
      h("p", {"class": "wide meta"}, "表头可用中文（编号、面积、租金、镇街……）。每一行都会被接受或说明拒绝原因；同编号的记录会被新内容替换。"));
    add(main, [form, out]);
  }

  function countRows(items) {
    var rows = {};
    items.forEach(function (p) { rows[p.row] = 1; });
    return Object.keys(rows).length;
  }

  function problems(items, id) {
    return h("div", {"class": "table-wrap"}, h("table", {id: id},
      h("thead", null, h("tr", null, ["行号", "编号", "字段", "值", "原因"].map(function (t) { return h("th", {scope: "col"}, t); }))),
      h("tbody", null, items.map(function (p) {
        return h("tr", null, h("td", {"class": "num"}, p.row), h("td", null, p.id), h("td", null, FIELD_ZH[p.field] || p.field),
          h("td", null, p.value), h("td", null, p.reason_zh));
      }))));
  }

  // ---------------------------------------------------------------- start

  whoami().then(function () { drawSession(); route(); });
})();
