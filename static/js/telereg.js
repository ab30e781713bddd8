// Behaviour for telereg's pages. The Content-Security-Policy allows scripts
// from this site's static files only: no inline <script>, no on…= attributes.
// Elements ask for behaviour with data- attributes instead. Every page works
// without this file: it only saves keystrokes and double clicks, and the
// server checks everything it fills in.
"use strict";

document.addEventListener("click", function (event) {
  var target = event.target.closest("[data-print]");
  if (target) {
    event.preventDefault();
    window.print();
  }
});

// --- Birth date and sex from a resident ID number (GB 11643) ---------------
// Characters 7 to 14 are the birth date (YYYYMMDD), the 17th digit is odd for
// a man. A block says which document types carry them in
// data-birth-in-number; the fields are found by their data- attributes.

function residentIdFacts(number) {
  var match = /^\d{17}[\dXx]$/.exec(number.replace(/\s+/g, ""));
  if (!match) {
    return null;
  }
  var digits = match[0];
  var year = Number(digits.slice(6, 10));
  var month = Number(digits.slice(10, 12));
  var day = Number(digits.slice(12, 14));
  var date = new Date(Date.UTC(year, month - 1, day));
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day
  ) {
    return null;
  }
  return {
    birthDate: digits.slice(6, 10) + "-" + digits.slice(10, 12) + "-" + digits.slice(12, 14),
    sex: Number(digits.charAt(16)) % 2 === 1 ? "M" : "F",
  };
}

function fillFromNumber(block) {
  var types = (block.getAttribute("data-birth-in-number") || "").split(/\s+/);
  var type = block.querySelector("[data-id-type]");
  var number = block.querySelector("[data-id-number]");
  if (!type || !number || types.indexOf(type.value) === -1) {
    return;
  }
  var facts = residentIdFacts(number.value);
  if (!facts) {
    return;
  }
  var birth = block.querySelector("[data-birth-date]");
  if (birth) {
    birth.value = facts.birthDate;
  }
  block.querySelectorAll("input[type=radio][name$='-sex']").forEach(function (radio) {
    radio.checked = radio.value === facts.sex;
  });
}

document.addEventListener("input", function (event) {
  var block = event.target.closest("[data-identity-block]");
  if (block && event.target.matches("[data-id-number], [data-id-type]")) {
    fillFromNumber(block);
  }
});
document.addEventListener("change", function (event) {
  var block = event.target.closest("[data-identity-block]");
  if (block && event.target.matches("[data-id-type]")) {
    fillFromNumber(block);
  }
});

// --- A searchable number picker --------------------------------------------
// A search box (hidden without this script) narrows the <select>'s options
// to the numbers containing the digits typed; empty groups are hidden too.

function filterNumbers(search) {
  var select = document.getElementById(search.getAttribute("data-number-search"));
  if (!select) {
    return;
  }
  var digits = search.value.replace(/\D+/g, "");
  var shown = 0;
  select.querySelectorAll("optgroup").forEach(function (group) {
    var any = false;
    group.querySelectorAll("option").forEach(function (option) {
      var match = digits === "" || option.value.replace(/\D+/g, "").indexOf(digits) !== -1;
      option.hidden = !match;
      option.disabled = !match && !option.selected;
      if (match) {
        any = true;
        shown += 1;
      }
    });
    group.hidden = !any;
  });
  var count = document.getElementById("number-search-count");
  if (count) {
    count.textContent = (count.getAttribute("data-count-template") || "{count}").replace(
      "{count}",
      String(shown)
    );
  }
}

document.querySelectorAll("[data-number-search]").forEach(function (search) {
  var wrapper = search.closest("[hidden]");
  if (wrapper) {
    wrapper.hidden = false;
  }
  search.addEventListener("input", function () {
    filterNumbers(search);
  });
  // Enter in the search box goes to the list, not to the next step.
  search.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      var select = document.getElementById(search.getAttribute("data-number-search"));
      if (select) {
        select.focus();
      }
    }
  });
});

// --- Busy state on submit ---------------------------------------------------
// The first submit of a form marked data-busy goes; its buttons then say so
// and are disabled (after the browser has read the pressed button's value),
// and a second submit is stopped. The server is idempotent anyway.

document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.hasAttribute("data-busy")) {
    return;
  }
  if (form.getAttribute("aria-busy") === "true") {
    event.preventDefault();
    return;
  }
  form.setAttribute("aria-busy", "true");
  var pressed = event.submitter;
  window.setTimeout(function () {
    form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (button) {
      if (button === pressed || (!pressed && button.hasAttribute("data-busy-label"))) {
        if (button.hasAttribute("data-busy-label")) {
          button.setAttribute("data-idle-label", button.textContent);
          button.textContent = button.getAttribute("data-busy-label");
        }
      }
      button.disabled = true;
    });
  }, 0);
});

// A page shown again from the back/forward cache is not busy any more.
window.addEventListener("pageshow", function (event) {
  if (event.persisted) {
    document.querySelectorAll("form[aria-busy=true]").forEach(function (form) {
      form.removeAttribute("aria-busy");
      form.querySelectorAll("button").forEach(function (button) {
        if (button.hasAttribute("data-idle-label")) {
          button.textContent = button.getAttribute("data-idle-label");
        }
        button.disabled = false;
      });
    });
  }
});

// The portrait capture step: a preview of the chosen or taken picture, read
// as a data: URL (the CSP allows data: images, not blob:). Without a script
// the file input still opens the camera and the upload works the same.
document.addEventListener("change", function (event) {
  var input = event.target;
  if (!input.matches || !input.matches("input[type=file][data-portrait-preview]")) {
    return;
  }
  var preview = document.getElementById(input.getAttribute("data-portrait-preview"));
  var file = input.files && input.files[0];
  if (!preview || !file || !window.FileReader) {
    return;
  }
  var reader = new FileReader();
  reader.onload = function () {
    preview.src = reader.result;
    preview.hidden = false;
  };
  reader.readAsDataURL(file);
});
