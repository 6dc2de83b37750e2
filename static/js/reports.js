// Report charts (/reports/<report>/): each canvas names the JSON its figures come from; a click
// on a bar or point opens the records behind it, the same link as the table cell below.
document.addEventListener("DOMContentLoaded", () => {
  if (typeof window.Chart === "undefined") return;
  const palette = ["#4f46e5", "#22c55e", "#f59e0b", "#ef4444", "#06b6d4", "#a855f7", "#64748b"];
  const money = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  document.querySelectorAll("canvas[data-report-chart]").forEach((canvas) => {
    const source = document.getElementById(canvas.dataset.reportChart);
    if (!source) return;
    const data = JSON.parse(source.textContent);
    const format = (v) => (data.kind === "money" ? money.format(v) : v.toLocaleString());
    const chart = new window.Chart(canvas, {
      type: data.type,
      data: {
        labels: data.labels,
        datasets: data.datasets.map((set, i) => ({
          label: set.label,
          data: set.data,
          backgroundColor: palette[i % palette.length] + (data.type === "line" ? "33" : "cc"),
          borderColor: palette[i % palette.length],
          borderWidth: data.type === "line" ? 2 : 0,
          borderRadius: 4,
          pointRadius: 2,
          tension: 0.25,
        })),
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "nearest", intersect: true },
        plugins: {
          legend: { display: data.datasets.length > 1, position: "bottom", labels: { boxWidth: 12, color: "#374151" } },
          tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${format(ctx.parsed.y)}` } },
        },
        scales: {
          x: { stacked: data.stacked, grid: { display: false }, ticks: { color: "#6b7280", maxTicksLimit: 12 } },
          y: { stacked: data.stacked, beginAtZero: true, grid: { color: "#eef0f4" }, ticks: { color: "#6b7280", precision: data.kind === "int" ? 0 : undefined, callback: (v) => format(v) } },
        },
        onHover: (event, elements) => {
          event.native.target.style.cursor = elements.length ? "pointer" : "default";
        },
        onClick: (event, elements) => {
          if (!elements.length) return;
          const { datasetIndex, index } = elements[0];
          const link = data.datasets[datasetIndex].links[index];
          if (link) window.location.assign(link);
        },
      },
    });
    canvas.chart = chart;
  });
});
