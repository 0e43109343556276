// Draws the status page's charts from its JSON (script#chart-data) with Plotly, served by the daemon.
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || typeof Plotly === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var config = { displayModeBar: false, responsive: true, staticPlot: false };
  var font = { family: "system-ui, sans-serif", size: 12, color: "#1d2430" };

  var sales = data.sales;
  var traces = Object.keys(sales.channels).sort().map(function (name) {
    return { type: "bar", name: name, x: sales.days, y: sales.channels[name] };
  });
  Plotly.newPlot("sales-chart", traces, {
    barmode: "stack", height: 280, margin: { t: 10, r: 10, b: 40, l: 40 }, font: font,
    yaxis: { title: { text: "units" }, rangemode: "tozero" }, legend: { orientation: "h", y: 1.15 },
    paper_bgcolor: "#fff", plot_bgcolor: "#fff"
  }, config);

  var cover = data.cover;
  var cover_el = document.getElementById("cover-chart");
  if (!cover.labels.length) {
    cover_el.className = "fine";
    cover_el.textContent = "No SKU sold in the reorder window.";
    return;
  }
  Plotly.newPlot(cover_el, [{
    type: "bar", orientation: "h", x: cover.days, y: cover.labels,
    marker: { color: cover.order.map(function (due) { return due ? "#c0392b" : "#2e7d4f"; }) },
    text: cover.days.map(function (d) { return d + " d"; }), textposition: "outside", cliponaxis: false,
    hovertemplate: "%{y}: %{x} days<extra></extra>"
  }], {
    height: Math.max(160, 22 * cover.labels.length + 60), margin: { t: 10, r: 10, b: 40, l: 160 }, font: font,
    xaxis: { title: { text: "days of cover (red: order now)" }, rangemode: "tozero" },
    yaxis: { autorange: "reversed" }, paper_bgcolor: "#fff", plot_bgcolor: "#fff"
  }, config);
})();
