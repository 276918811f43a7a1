// Print the proof of filing (the print stylesheet hides everything but the proof).
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print-proof");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
});
