// Filters and regroups the findings table. Rows are built once by gate; this
// only hides, shows and reorders them, so it stays fast at many thousands.
(function () {
  "use strict";
  var body = document.querySelector("#findings tbody");
  if (!body) { return; }
  var rows = Array.prototype.slice.call(body.rows);
  var q = document.getElementById("q");
  var verdict = document.getElementById("f-verdict");
  var policy = document.getElementById("f-policy");
  var ns = document.getElementById("f-ns");
  var group = document.getElementById("group");
  var shown = document.getElementById("shown");

  function apply() {
    var text = q.value.trim().toLowerCase();
    var v = verdict.value, p = policy.value, n = ns.value;
    var count = 0;
    for (var i = 0; i < rows.length; i++) {
      var d = rows[i].dataset;
      var ok = (!v || d.verdict === v) && (!p || d.policy === p) &&
        (!n || d.ns === n) && (!text || d.text.indexOf(text) !== -1);
      rows[i].hidden = !ok;
      if (ok) { count++; }
    }
    shown.textContent = String(count);
  }

  function regroup() {
    var key = group.value === "policy" ? "p" : "o";
    rows.sort(function (a, b) { return a.dataset[key] - b.dataset[key]; });
    var fragment = document.createDocumentFragment();
    for (var i = 0; i < rows.length; i++) { fragment.appendChild(rows[i]); }
    body.appendChild(fragment);
  }

  var timer = null;
  q.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(apply, 120);
  });
  [verdict, policy, ns].forEach(function (el) { el.addEventListener("change", apply); });
  group.addEventListener("change", regroup);
  Array.prototype.forEach.call(document.querySelectorAll("button.policy-filter"), function (b) {
    b.addEventListener("click", function () {
      policy.value = b.dataset.policy;
      apply();
      document.getElementById("findings").scrollIntoView();
    });
  });
  // A link to #f-policy=NAME or #f-verdict=deny opens the report filtered.
  var hash = decodeURIComponent(location.hash.slice(1)).split("=");
  if (hash.length === 2 && (hash[0] === "f-policy" || hash[0] === "f-verdict" || hash[0] === "f-ns")) {
    document.getElementById(hash[0]).value = hash[1];
  }
  apply();
  // Tests (and people) can tell the filters are live.
  document.documentElement.setAttribute("data-filters", "ready");
})();
