// The top bar's search for everything: Ctrl+K (or Cmd+K) and "/" open it, arrows move, Enter opens.
(function () {
  const form = document.querySelector("[data-global-search]");
  if (!form) return;
  const input = form.querySelector("input[name=q]");
  const panel = form.querySelector(".search-panel");
  let active = -1;

  const hits = () => Array.from(panel.querySelectorAll("[data-search-hit]"));
  const open = () => { panel.hidden = false; input.setAttribute("aria-expanded", "true"); };
  const close = () => { panel.hidden = true; input.setAttribute("aria-expanded", "false"); active = -1; };
  const mark = (index) => {
    const all = hits();
    all.forEach((el, i) => el.classList.toggle("active", i === index));
    active = index;
    if (all[index]) {
      all[index].scrollIntoView({ block: "nearest" });
      input.setAttribute("aria-activedescendant", all[index].id || "");
    }
  };

  const typing = (el) => el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  document.addEventListener("keydown", (event) => {
    const ctrlK = (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k";
    const slash = event.key === "/" && !event.ctrlKey && !event.metaKey && !typing(document.activeElement);
    if (ctrlK || slash) {
      event.preventDefault();
      input.focus();
      input.select();
      open();
    }
  });

  input.addEventListener("focus", open);
  input.addEventListener("keydown", (event) => {
    const all = hits();
    if (event.key === "ArrowDown") {
      event.preventDefault();
      open();
      mark(all.length ? (active + 1) % all.length : -1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      mark(all.length ? (active <= 0 ? all.length - 1 : active - 1) : -1);
    } else if (event.key === "Enter" && active >= 0 && all[active]) {
      event.preventDefault();
      window.location.assign(all[active].href);
    } else if (event.key === "Escape") {
      close();
      input.blur();
    }
  });
  document.addEventListener("click", (event) => { if (!form.contains(event.target)) close(); });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.target !== panel) return;
    hits().forEach((el, i) => { el.id = `search-hit-${i}`; });
    active = -1;
    if (document.activeElement === input) open();
  });
})();
