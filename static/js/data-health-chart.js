// The data-health trend on /data-health/: share of contacts fresh, ageing and stale per daily snapshot.
document.addEventListener("DOMContentLoaded", () => {
  const canvas = document.getElementById("data-health-chart");
  const source = document.getElementById("data-health-data");
  if (!canvas || !source || typeof window.Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const series = (label, values, color, fill) => ({
    label,
    data: values,
    borderColor: color,
    backgroundColor: color + "33",
    fill,
    pointRadius: 0,
    borderWidth: 2,
    tension: 0.25,
  });
  new window.Chart(canvas, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: [
        series("Stale", data.stale, "#ef4444", "origin"),
        series("Ageing", data.ageing, "#f59e0b", "-1"),
        series("Fresh", data.fresh, "#22c55e", "-1"),
      ],
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 12, color: "#374151" } },
        tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${ctx.parsed.y.toFixed(1)} %` } },
      },
      scales: {
        x: { grid: { display: false }, ticks: { color: "#6b7280", maxTicksLimit: 8 } },
        y: { stacked: true, min: 0, max: 100, grid: { color: "#eef0f4" }, ticks: { color: "#6b7280", callback: (v) => `${v} %` } },
      },
    },
  });
});
