// The scoring form's running total: Σ score × weight ÷ 100 as typed, a blank score the level below's
// (its placeholder). The server works the total out again on saving; this only shows it while typing.
(function () {
  const form = document.getElementById("score-form");
  const output = document.getElementById("running-total");
  if (!form || !output) return;
  function total() {
    let sum = 0;
    for (const input of form.querySelectorAll("input[data-weight]")) {
      const typed = (input.value || input.placeholder || "").trim();
      const value = Number(typed);
      if (typed === "" || Number.isNaN(value)) return null;
      sum += value * Number(input.dataset.weight);
    }
    return (sum / 100).toFixed(2);
  }
  form.addEventListener("input", function () {
    const value = total();
    output.textContent = value === null ? "—" : value;
  });
})();
