// refbin: small progressive enhancements. Every page works without this file; it adds copy
// buttons, line ranges, drag and drop, several files at once and upload progress.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function $(selector, root) {
    return (root || document).querySelector(selector);
  }

  function $all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // As bot/units.py format_size spells sizes on the server's pages: "512 B", "1.5 KiB", "2 MiB".
  function humanSize(bytes) {
    var units = ["B", "KiB", "MiB", "GiB"];
    var value = bytes;
    for (var i = 0; i < units.length; i++) {
      if (value < 1024 || i === units.length - 1) {
        if (i === 0) return Math.floor(value) + " B";
        return value.toFixed(1).replace(/\.0$/, "") + " " + units[i];
      }
      value /= 1024;
    }
  }

  // ---- the dashboard: tick every item on the page at once ------------------------------------

  $all("[data-select-all]").forEach(function (box) {
    var list = $(box.dataset.selectAll);
    if (!list) return;
    var picks = $all("input.pick", list);
    box.closest("label").hidden = false;
    box.addEventListener("change", function () {
      picks.forEach(function (pick) {
        pick.checked = box.checked;
      });
    });
    list.addEventListener("change", function () {
      var ticked = picks.filter(function (pick) {
        return pick.checked;
      }).length;
      box.checked = ticked === picks.length;
      box.indeterminate = ticked > 0 && ticked < picks.length;
    });
  });

  // ---- copying ------------------------------------------------------------------------

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain http on another host has no clipboard API: the old selection way still works.
    return new Promise(function (resolve, reject) {
      var area = element("textarea", "visually-hidden");
      area.value = text;
      area.setAttribute("readonly", "");
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (error) {
        ok = false;
      }
      area.remove();
      if (ok) resolve();
      else reject(new Error("copy failed"));
    });
  }

  function flash(button, label) {
    if (!button.dataset.label) button.dataset.label = button.textContent;
    button.textContent = label;
    button.classList.add("copied");
    window.clearTimeout(button.flashTimer);
    button.flashTimer = window.setTimeout(function () {
      button.textContent = button.dataset.label;
      button.classList.remove("copied");
    }, 1600);
  }

  function bindCopy(button, textOf) {
    button.hidden = false;
    button.addEventListener("click", function () {
      copyText(textOf()).then(
        function () {
          flash(button, "Copied");
        },
        function () {
          flash(button, "Press Ctrl+C");
        }
      );
    });
  }

  $all("[data-copy-from]").forEach(function (button) {
    var source = $(button.dataset.copyFrom);
    if (source) {
      bindCopy(button, function () {
        return source.value || source.textContent;
      });
    }
  });

  $all("[data-copy-code]").forEach(function (button) {
    bindCopy(button, function () {
      var lines = $all("td.line-code").map(function (cell) {
        return cell.textContent;
      });
      return lines.join("\n") + "\n";
    });
  });

  $all("input[readonly]").forEach(function (input) {
    input.addEventListener("focus", function () {
      input.select();
    });
  });

  // ---- the language menu of a paste ---------------------------------------------------------

  $all("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  });
  $all("[data-no-js]").forEach(function (node) {
    node.hidden = true;
  });

  // ---- line ranges: #L12 works by itself (:target); #L12-L20 and shift-click need this --------

  var codeTable = $("table.code");
  if (codeTable) lineRanges(codeTable);

  function lineRanges(table) {
    var anchor = null;

    function parse(hash) {
      var match = /^#L(\d+)(?:-L?(\d+))?$/.exec(hash);
      if (!match) return null;
      var first = Number(match[1]);
      var last = match[2] ? Number(match[2]) : first;
      return [Math.min(first, last), Math.max(first, last)];
    }

    function mark(scroll) {
      $all("tr.selected", table).forEach(function (row) {
        row.classList.remove("selected");
      });
      var range = parse(window.location.hash);
      if (!range) return;
      for (var n = range[0]; n <= range[1]; n++) {
        var row = document.getElementById("L" + n);
        if (row) row.classList.add("selected");
      }
      var top = document.getElementById("L" + range[0]);
      if (scroll && top && range[0] !== range[1]) top.scrollIntoView({ block: "center" });
    }

    table.addEventListener("click", function (event) {
      var link = event.target.closest("td.line-no a");
      if (!link) return;
      var line = Number(link.textContent);
      if (event.shiftKey && anchor !== null && anchor !== line) {
        event.preventDefault();
        var low = Math.min(anchor, line);
        var high = Math.max(anchor, line);
        window.history.replaceState(null, "", "#L" + low + "-L" + high);
        mark(false);
      } else {
        anchor = line;
      }
    });
    window.addEventListener("hashchange", function () {
      mark(false);
    });
    var initial = parse(window.location.hash);
    if (initial) anchor = initial[0];
    mark(true);
  }

  // ---- the home page form ---------------------------------------------------------------------

  var composerForm = $("#composer");
  if (composerForm) composer(composerForm);

  function composer(form) {
    var input = $("#file-input", form);
    var zone = $("#dropzone", form);
    var list = $("#file-list", form);
    var results = $("#upload-results", form);
    var submit = $("#submit", form);
    var limit = Number(form.dataset.uploadLimit) || 0;
    var chosen = [];

    input.multiple = true;
    $all(".js-text", form).forEach(function (node) {
      node.hidden = false;
    });

    function mode() {
      var checked = $("input[name=mode]:checked", form);
      return checked ? checked.value : "link";
    }

    function showChosen() {
      list.replaceChildren();
      list.hidden = chosen.length === 0;
      chosen.forEach(function (file, index) {
        var row = element("li");
        var name = element("span", "file-name", file.name);
        var remove = element("button", "btn small", "Remove");
        remove.type = "button";
        remove.setAttribute("aria-label", "Remove " + file.name);
        remove.addEventListener("click", function () {
          chosen.splice(index, 1);
          showChosen();
        });
        name.appendChild(element("span", "file-size", "  " + humanSize(file.size)));
        row.append(name, remove);
        list.appendChild(row);
      });
      submit.textContent = chosen.length > 1 ? "Upload " + chosen.length + " files" : "Create short link";
    }

    function add(files) {
      Array.prototype.forEach.call(files, function (file) {
        chosen.push(file);
      });
      $("#mode-file", form).checked = true;
      showChosen();
    }

    input.addEventListener("change", function () {
      add(input.files);
      input.value = "";
    });

    // Files may be dropped anywhere on the page; the drop zone lights up while they hover.
    var depth = 0;
    document.addEventListener("dragenter", function (event) {
      if (!hasFiles(event)) return;
      depth += 1;
      zone.classList.add("dragging");
    });
    document.addEventListener("dragleave", function () {
      depth = Math.max(0, depth - 1);
      if (depth === 0) zone.classList.remove("dragging");
    });
    document.addEventListener("dragover", function (event) {
      if (hasFiles(event)) event.preventDefault();
    });
    document.addEventListener("drop", function (event) {
      depth = 0;
      zone.classList.remove("dragging");
      if (!hasFiles(event)) return;
      event.preventDefault();
      add(event.dataTransfer.files);
    });

    function hasFiles(event) {
      var transfer = event.dataTransfer;
      return !!transfer && Array.prototype.indexOf.call(transfer.types || [], "Files") !== -1;
    }

    form.addEventListener("submit", function (event) {
      var current = mode();
      if (current === "file") {
        event.preventDefault();
        if (chosen.length === 0) {
          input.click();
          return;
        }
        uploadAll();
        return;
      }
      // Only the chosen tab's fields are sent: text left in another tab is not stored too.
      $all(".pane", form).forEach(function (pane) {
        var active = pane.classList.contains("pane-" + current);
        $all("input, textarea, select", pane).forEach(function (field) {
          field.disabled = !active;
        });
      });
    });

    window.addEventListener("pageshow", function () {
      $all(".pane input, .pane textarea, .pane select", form).forEach(function (field) {
        field.disabled = false;
      });
    });

    function uploadAll() {
      var queue = chosen.slice();
      chosen = [];
      showChosen();
      submit.disabled = true;
      results.hidden = false;
      (function next() {
        var file = queue.shift();
        if (!file) {
          submit.disabled = false;
          return;
        }
        upload(file).then(next);
      })();
    }

    function upload(file) {
      return new Promise(function (resolve) {
        var row = element("li", "upload");
        var name = element("span", "file-name", file.name);
        var size = element("span", "file-size", humanSize(file.size));
        var bar = element("progress");
        bar.max = 100;
        bar.value = 0;
        row.append(name, size, bar);
        results.appendChild(row);

        function fail(message) {
          bar.remove();
          row.appendChild(element("span", "upload-error", message));
          resolve();
        }

        function done(url, token) {
          bar.remove();
          size.remove();
          var cell = element("span", "file-name");
          var link = element("a", "upload-link", url);
          link.href = url;
          cell.append(element("span", "file-size", file.name + " → "), link);
          var copy = element("button", "btn small", "Copy");
          copy.type = "button";
          bindCopy(copy, function () {
            return url;
          });
          row.replaceChildren(cell, copy);
          if (token) row.appendChild(element("span", "upload-token", "Delete token: " + token));
          resolve();
        }

        if (limit && file.size > limit) {
          fail("Larger than the limit of " + humanSize(limit) + ".");
          return;
        }
        var data = new FormData();
        ["expires", "max_views", "visibility", "password"].forEach(function (field) {
          var control = form.elements[field];
          if (control && control.value) data.append(field, control.value);
        });
        data.append("file", file, file.name);
        var request = new XMLHttpRequest();
        request.open("POST", form.action);
        request.setRequestHeader("Accept", "text/plain");
        request.upload.addEventListener("progress", function (event) {
          if (event.lengthComputable) bar.value = (event.loaded / event.total) * 100;
        });
        request.addEventListener("load", function () {
          if (request.status === 200 || request.status === 201) {
            done(request.responseText.trim(), request.getResponseHeader("X-Delete-Token"));
          } else {
            fail(errorMessage(request));
          }
        });
        request.addEventListener("error", function () {
          fail("The upload failed: the connection was lost.");
        });
        request.send(data);
      });
    }

    function errorMessage(request) {
      try {
        return JSON.parse(request.responseText).error.message;
      } catch (error) {
        return "The upload failed (HTTP " + request.status + ").";
      }
    }
  }
})();
