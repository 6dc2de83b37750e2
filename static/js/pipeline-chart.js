// The "my open pipeline by stage" bar chart on the home page. Data comes from a json_script tag.
document.addEventListener("DOMContentLoaded", () => {
  const canvas = document.getElementById("pipeline-chart");
  const source = document.getElementById("pipeline-data");
  if (!canvas || !source || typeof window.Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [{
        label: "Open amount",
        data: data.totals,
        backgroundColor: ["#c7d2fe", "#a5b4fc", "#818cf8", "#6366f1"],
        borderRadius: 6,
        maxBarThickness: 28,
      }],
    },
    options: {
      indexAxis: "y",
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (ctx) => `${number.format(ctx.parsed.x)} · ${data.counts[ctx.dataIndex]} deal${data.counts[ctx.dataIndex] === 1 ? "" : "s"}`,
          },
        },
      },
      scales: {
        x: { beginAtZero: true, grid: { color: "#eef0f4" }, ticks: { color: "#6b7280", callback: (v) => compact.format(v) } },
        y: { grid: { display: false }, ticks: { color: "#374151" } },
      },
    },
  });
});
