// Only an enhancement: the ballot works without it. Counts answers and warns before a
// partial submit; stores nothing on the phone.
(function () {
  var form = document.getElementById("ballot");
  if (!form) return;
  var progress = document.getElementById("progress");
  function groups() {
    var names = {};
    form.querySelectorAll("input[type=radio]").forEach(function (r) { names[r.name] = names[r.name] || r.checked; });
    var total = 0, done = 0;
    Object.keys(names).forEach(function (n) { total++; if (names[n]) done++; });
    return { total: total, done: done };
  }
  function show() {
    var g = groups();
    progress.textContent = "已评价 " + g.done + " / " + g.total + " 项";
  }
  form.addEventListener("change", show);
  form.addEventListener("submit", function (event) {
    var g = groups();
    if (g.done === 0) return; // the server explains that an empty ballot cannot be submitted
    if (g.done < g.total && !form.querySelector("input[name=confirm_partial]")) {
      if (!window.confirm("还有 " + (g.total - g.done) + " 项未评价，提交后按弃权计。确定提交吗？")) {
        event.preventDefault();
        return;
      }
      var flag = document.createElement("input");
      flag.type = "hidden"; flag.name = "confirm_partial"; flag.value = "1";
      form.appendChild(flag);
    }
  });
  show();
})();
