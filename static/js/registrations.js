// The registration form: the business id's help text follows the chosen country.
document.addEventListener("DOMContentLoaded", () => {
  const data = document.getElementById("business-id-hints");
  const country = document.getElementById("id_country");
  const hint = document.getElementById("business-id-hint");
  if (!data || !country || !hint) return;
  const hints = JSON.parse(data.textContent);
  const fallback = hint.dataset.fallback;
  const update = () => { hint.textContent = hints[country.value] || fallback; };
  country.addEventListener("change", update);
  update();
});
