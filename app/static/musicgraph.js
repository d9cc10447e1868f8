/* MusicGraph's progressive enhancement. Every page works without this file: each action
 * is a link or a GET form. With it:
 *
 * 1. Song pickers (input[data-picker-id]) become WAI-ARIA 1.2 comboboxes that search
 *    /api/songs as you type (debounced), with a listbox driven by the arrow keys, Enter
 *    and Escape; the chosen song's id goes into the hidden input the picker names, and
 *    the submitted URL then carries the id alone.
 * 2. Inside [data-live-root] (the playlist builder), links with data-done and GET forms
 *    update the page in place: the server renders the next state's page, its
 *    [data-live-root] replaces this one, the URL is pushed to the history (so the
 *    playlist stays shareable and Back works), focus returns to the control that acted
 *    and #live-status announces what happened.
 *
 * No inline script, no eval, no innerHTML with data: text from the database is set with
 * textContent only, so the page keeps to a strict Content-Security-Policy.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 200;
  var MIN_CHARS = 2;
  var LIMIT = 8;

  /* ---- announcements ------------------------------------------------------------- */
  function announce(text) {
    var status = document.getElementById("live-status");
    if (!status || !text) { return; }
    // Clearing first makes a repeat of the same text announced again.
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
  }

  /* ---- song pickers -------------------------------------------------------------- */
  function songLabel(song) {
    return (song.title || song.id) + " \u2014 " + (song.artist || "unknown artist");
  }

  function hiddenFor(input) {
    return input.form ? input.form.elements.namedItem(input.getAttribute("data-picker-id")) : null;
  }

  function enhancePicker(input) {
    if (input.hasAttribute("data-picker-ready")) { return; }
    input.setAttribute("data-picker-ready", "");
    var hidden = hiddenFor(input);
    var source = input.getAttribute("data-picker-source");
    var list = document.createElement("ul");
    list.id = input.id + "-listbox";
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    var label = input.labels && input.labels[0];
    if (label) {
      if (!label.id) { label.id = input.id + "-label"; }
      list.setAttribute("aria-labelledby", label.id);
    }
    list.hidden = true;
    // The list hangs right under the box, whatever the label's height.
    var box = document.createElement("div");
    box.className = "picker-box";
    input.insertAdjacentElement("beforebegin", box);
    box.append(input, list);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);

    var timer = 0;
    var controller = null;
    var options = [];
    var active = -1;

    function isOpen() { return !list.hidden; }

    function open() {
      if (!options.length) { return; }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      setActive(-1);
    }

    function setActive(index) {
      active = index;
      options.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({block: "nearest"});
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function show(songs, q) {
      list.textContent = "";
      // Which text these options answer (the browser tests wait for it).
      list.setAttribute("data-query", q);
      options = songs.map(function (song, i) {
        var option = document.createElement("li");
        option.id = list.id + "-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("data-id", song.id);
        option.setAttribute("data-label", songLabel(song));
        var title = document.createElement("span");
        title.className = "title";
        title.textContent = song.title || song.id;
        var by = document.createElement("span");
        by.className = "by";
        by.textContent = song.artist || "unknown artist";
        option.append(title, " ", by);
        // Album and year tell apart the versions of a song that share title and artist.
        var about = [song.album, song.release_year].filter(Boolean).join(", ");
        if (about) {
          var meta = document.createElement("span");
          meta.className = "meta";
          meta.textContent = about;
          option.append(" ", meta);
        }
        list.appendChild(option);
        return option;
      });
      setActive(-1);
      if (options.length) {
        open();
        announce(options.length + (options.length === 1 ? " song" : " songs") +
                 " found: use the down arrow to choose");
      } else {
        close();
        announce("No song or artist matches");
      }
    }

    function search() {
      var q = input.value.trim();
      if (controller) { controller.abort(); controller = null; }
      if (q.length < MIN_CHARS) { options = []; close(); return; }
      controller = new AbortController();
      var url = source + "?" + new URLSearchParams({q: q, limit: String(LIMIT)}).toString();
      fetch(url, {signal: controller.signal, headers: {Accept: "application/json"}})
        .then(function (response) { return response.ok ? response.json() : {results: []}; })
        .then(function (body) {
          // A later keystroke may have changed the text: show only the current answer.
          if (input.value.trim() === q) { show(body.results || [], q); }
        })
        .catch(function (error) {
          if (error.name !== "AbortError") { options = []; close(); }
        });
    }

    function choose(option) {
      input.value = option.getAttribute("data-label");
      if (hidden) { hidden.value = option.getAttribute("data-id"); }
      close();
      if (input.hasAttribute("data-picker-submit") && input.form) {
        input.form.setAttribute("data-done", "Added " + option.getAttribute("data-label"));
        input.form.requestSubmit();
      }
    }

    input.addEventListener("input", function () {
      // Typing makes the text the reader's again: the server resolves it unless a song
      // is chosen from the list.
      if (hidden) { hidden.value = ""; }
      window.clearTimeout(timer);
      timer = window.setTimeout(search, DEBOUNCE_MS);
    });

    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!isOpen()) {
          if (options.length) { open(); } else { search(); return; }
          if (event.altKey) { return; }
        }
        setActive(active + 1 < options.length ? active + 1 : 0);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (!isOpen()) { open(); }
        if (options.length) { setActive(active > 0 ? active - 1 : options.length - 1); }
      } else if (event.key === "Enter") {
        if (isOpen() && active >= 0) {
          event.preventDefault();
          choose(options[active]);
        }
      } else if (event.key === "Escape") {
        if (isOpen()) {
          event.preventDefault();
          close();
        } else if (input.value) {
          event.preventDefault();
          input.value = "";
          if (hidden) { hidden.value = ""; }
        }
      } else if (event.key === "Tab") {
        close();
      }
    });

    input.addEventListener("blur", close);
    // Keep the focus in the box while the pointer picks an option.
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    list.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      if (option) { choose(option); }
    });
  }

  function enhancePickers(root) {
    root.querySelectorAll("input[data-picker-id]").forEach(enhancePicker);
  }

  /* ---- forms: a chosen song is submitted by its id alone ------------------------- */
  function formUrl(form, submitter) {
    var params = new URLSearchParams(new FormData(form, submitter));
    form.querySelectorAll("input[data-picker-id]").forEach(function (input) {
      var hidden = hiddenFor(input);
      if (hidden && hidden.value) { params.delete(input.name); }
    });
    // Empty fields add nothing but noise to a URL meant to be shared.
    Array.from(params.keys()).forEach(function (key) {
      if (!params.get(key)) { params.delete(key); }
    });
    // Commas may stand bare in a query string: the song list reads as the server writes it.
    var query = params.toString().replace(/%2C/gi, ",");
    return form.action.split("?")[0] + (query ? "?" + query : "");
  }

  /* ---- the playlist builder, updated in place ----------------------------------- */
  function liveRoot() { return document.querySelector("[data-live-root]"); }

  function focusAfter(root, origin) {
    var keys = origin ? [origin.getAttribute("data-focus-key"),
                         origin.getAttribute("data-focus-fallback")] : [];
    if (origin && origin.tagName === "FORM") {
      var own = origin.querySelector("[data-focus-key]");
      if (own) { keys.unshift(own.getAttribute("data-focus-key")); }
    }
    for (var i = 0; i < keys.length; i++) {
      if (!keys[i]) { continue; }
      var target = root.querySelector('[data-focus-key="' + CSS.escape(keys[i]) + '"]') ||
                   document.getElementById(keys[i]);
      if (target) { target.focus(); return; }
    }
    var heading = root.querySelector("[data-live-focus]");
    if (heading) { heading.focus(); }
  }

  function go(url, origin, push) {
    var root = liveRoot();
    root.setAttribute("aria-busy", "true");
    fetch(url, {headers: {Accept: "text/html"}, credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text().then(function (html) { return {html: html, url: response.url}; });
      })
      .then(function (page) {
        var doc = new DOMParser().parseFromString(page.html, "text/html");
        var fresh = doc.querySelector("[data-live-root]");
        if (!fresh) { throw new Error("no [data-live-root] in the answer"); }
        fresh = document.importNode(fresh, true);
        root.replaceWith(fresh);
        document.title = doc.title;
        if (push) { history.pushState({live: true}, "", page.url); }
        enhancePickers(fresh);
        focusAfter(fresh, origin);
        if (origin) { announce(origin.getAttribute("data-done")); }
      })
      .catch(function () {
        // The server's own page says what went wrong (a 400 or 404 message).
        window.location.assign(url);
      });
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
        event.shiftKey || event.altKey) { return; }
    var link = event.target.closest("a[data-done]");
    if (!link || !link.closest("[data-live-root]")) { return; }
    event.preventDefault();
    go(link.href, link, true);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.method.toLowerCase() !== "get") { return; }
    var live = form.closest("[data-live-root]");
    if (!live && !form.querySelector("input[data-picker-id]")) { return; }
    event.preventDefault();
    var url = formUrl(form, event.submitter);
    if (live) { go(url, form, true); } else { window.location.assign(url); }
  });

  window.addEventListener("popstate", function () {
    if (liveRoot()) { go(window.location.href, null, false); }
  });

  function start() {
    enhancePickers(document);
    if (liveRoot()) {
      // The first entry gets a state too, so Back to it updates in place as well.
      history.replaceState({live: true}, "", window.location.href);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
