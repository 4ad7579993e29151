/* Charts of the supervision dashboards: drawn with the vendored ECharts from the data the
   page already carries (a json_script block); the tables below them stay the source of
   truth for screen readers and export. Without ECharts the page is complete. The large
   screen reloads itself every data-refresh seconds. */
(function () {
  "use strict";
  function draw() {
    var data = document.getElementById("supervision-charts");
    if (!data || !window.echarts) { return; }
    var charts = JSON.parse(data.textContent);
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var spec = charts[el.getAttribute("data-chart").replace(/^chart-/, "")];
      if (!spec) { return; }
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      var names = Object.keys(spec.series);
      var option;
      if (spec.kind === "treemap") {
        option = {
          tooltip: {},
          series: [{
            type: "treemap", roam: false, nodeClick: false,
            data: spec.labels.map(function (label, i) { return { name: label, value: spec.series[names[0]][i] }; })
          }]
        };
      } else {
        option = {
          tooltip: { trigger: "axis" },
          legend: { data: names },
          grid: { left: 48, right: 16, bottom: 64 },
          xAxis: { type: "category", data: spec.labels, axisLabel: { rotate: spec.labels.length > 6 ? 30 : 0 } },
          yAxis: { type: "value", minInterval: 1 },
          series: names.map(function (name) { return { name: name, type: spec.kind, data: spec.series[name] }; })
        };
      }
      chart.setOption(option);
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    draw();
    var screen = document.querySelector("[data-refresh]");
    if (screen) {
      var seconds = parseInt(screen.getAttribute("data-refresh"), 10) || 60;
      window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
    }
  });
})();
