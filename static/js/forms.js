/* Online forms: a question asked only for a given answer shows when that answer is chosen.
   Without JavaScript every question shows, with a note saying when to answer it; the server
   ignores a question whose condition does not hold either way. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-answer-form]");
  if (!form) {
    return;
  }
  var questions = form.querySelectorAll("[data-show-if]");

  function chosen(name) {
    var values = [];
    form.querySelectorAll("[name='" + name + "']").forEach(function (input) {
      var box = input.type === "radio" || input.type === "checkbox";
      if (!box || input.checked) {
        values.push(input.value);
      }
    });
    return values;
  }

  function update() {
    questions.forEach(function (question) {
      var shown = chosen(question.dataset.showIf).indexOf(question.dataset.showValue) !== -1;
      question.hidden = !shown;
      question.querySelectorAll("[data-when-note]").forEach(function (note) {
        note.hidden = true; // the question appears when it applies: no note needed
      });
    });
  }

  form.addEventListener("change", update);
  update();

  /* "Fill in the address from this postal code": in place, without sending the form. Without
     JavaScript (or if the look-up fails) the button sends the form and the server does it. */
  form.querySelectorAll("[data-postal-lookup]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      var code = form.querySelector("[name='" + button.dataset.code + "']");
      var address = form.querySelector("[name='" + button.dataset.address + "']");
      var status = button.parentNode.querySelector("[data-postal-status]");
      if (!window.fetch || !code || !address || !status) {
        return;
      }
      event.preventDefault();
      fetch(button.dataset.postalLookup + "?code=" + encodeURIComponent(code.value), {
        headers: { Accept: "application/json" },
        credentials: "same-origin"
      })
        .then(function (response) {
          return response.json();
        })
        .then(function (data) {
          if (data.address) {
            address.value = data.address;
            status.textContent = button.dataset.found.replace("{address}", data.address);
            address.focus();
          } else {
            status.textContent = data.error || "";
          }
        })
        .catch(function () {
          form.requestSubmit(button);
        });
    });
  });
})();
