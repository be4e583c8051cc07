// The owner dashboard's charts. Data comes from a json_script block; no inline scripts (CSP).
(function () {
  "use strict";
  const source = document.getElementById("dashboard-charts");
  const period = document.querySelector("[data-autosubmit]");
  if (period) period.addEventListener("change", () => period.form.submit());
  if (!source || typeof Chart === "undefined") return;

  const css = getComputedStyle(document.documentElement);
  const cssColor = (name, fallback) => (css.getPropertyValue(name) || "").trim() || fallback;
  const COLORS = {
    warm: cssColor("--rapport-warm", "#d9480f"),
    cooling: cssColor("--rapport-cooling", "#e8a317"),
    cold: cssColor("--rapport-cold", "#4c6ef5"),
    primary: cssColor("--bs-primary", "#0d6efd"),
    success: cssColor("--bs-success", "#198754"),
    danger: cssColor("--bs-danger", "#dc3545"),
    muted: "#adb5bd",
    "kind-visit": "#4c6ef5", "kind-purchase": "#d9480f", "kind-call": "#12b886", "kind-email": "#7950f2",
    "kind-message": "#15aabf", "kind-event": "#e8a317", "kind-feedback": "#e64980", "kind-gift": "#82c91e",
    "kind-note": "#868e96",
  };

  const charts = JSON.parse(source.textContent);
  const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    const spec = charts[canvas.dataset.chart];
    if (!spec) return;
    const opts = spec.options || {};
    const line = spec.type === "line";
    const datasets = spec.datasets.map((d) => {
      const color = COLORS[d.color] || COLORS.primary;
      return {
        label: d.label, data: d.data, borderColor: color, backgroundColor: line ? color + "33" : color,
        borderWidth: line ? 2 : 0, pointRadius: line && spec.labels.length > 30 ? 0 : 2, tension: 0.25,
        spanGaps: true, maxBarThickness: 36,
      };
    });
    const valueAxis = {
      beginAtZero: true, stacked: !!opts.stacked,
      ticks: { precision: 0, callback: opts.percent ? (v) => v + "%" : undefined },
      max: opts.percent ? 100 : undefined,
    };
    const categoryAxis = { stacked: !!opts.stacked, ticks: { autoSkip: true, maxRotation: 0 } };
    const chart = new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: reduceMotion ? false : { duration: 300 },
        indexAxis: opts.horizontal ? "y" : "x",
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { display: datasets.length > 1, position: "bottom", labels: { boxWidth: 12 } } },
        scales: opts.horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
      },
    });
    canvas.dataset.rendered = "true";
    canvas.chart = chart;
  });
})();
