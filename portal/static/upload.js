/* Progressive enhancement for picture uploads: send the form with XMLHttpRequest and show
   a progress bar. Without JavaScript the form posts normally. */
(function () {
  "use strict";
  if (!window.FormData || !window.XMLHttpRequest) { return; }
  document.querySelectorAll("form[data-progress]").forEach(function (form) {
    var bar = form.querySelector("progress");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      if (bar) { bar.hidden = false; bar.value = 0; }
      request.upload.addEventListener("progress", function (e) {
        if (bar && e.lengthComputable) { bar.value = e.loaded / e.total; }
      });
      request.addEventListener("load", function () {
        if (request.status < 400 && request.responseURL) {
          window.location.assign(request.responseURL);
        } else {
          document.open();
          document.write(request.responseText);
          document.close();
        }
      });
      request.addEventListener("error", function () { form.submit(); });
      request.send(new FormData(form));
    });
  });
})();
