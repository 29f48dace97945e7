// The Logs tab: a live tail of the app's log stream over SSE (EventSource reconnects by
// itself and resumes with Last-Event-ID). Filters reopen the stream; pause holds new lines.
(function () {
  const form = document.getElementById("log-filters");
  if (!form) return;
  const list = document.getElementById("log-lines");
  const status = document.getElementById("log-status");
  const pause = document.getElementById("log-pause");
  const MAX_LINES = 1000;
  let source = null;
  let paused = false;
  let held = [];

  function show(line) {
    const item = document.createElement("li");
    item.textContent = line;
    list.appendChild(item);
    while (list.children.length > MAX_LINES) list.removeChild(list.firstChild);
    item.scrollIntoView({ block: "nearest" });
  }

  function open() {
    if (source) source.close();
    list.replaceChildren();
    const params = new URLSearchParams({ tail: "true", lines: "100" });
    const data = new FormData(form);
    for (const key of ["source", "dyno"]) if (data.get(key)) params.set(key, data.get(key));
    source = new EventSource(form.dataset.stream + "?" + params.toString());
    source.onopen = () => { status.textContent = paused ? "paused" : "live"; };
    source.onerror = () => { status.textContent = "reconnecting…"; };
    source.onmessage = (event) => {
      if (paused) {
        held.push(event.data);
        if (held.length > MAX_LINES) held.shift();
      } else {
        show(event.data);
      }
    };
  }

  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    pause.setAttribute("aria-pressed", String(paused));
    status.textContent = paused ? "paused" : "live";
    if (!paused) { held.forEach(show); held = []; }
  });
  form.addEventListener("change", open);
  form.addEventListener("submit", (event) => { event.preventDefault(); open(); });
  open();
})();
