// Draws the graph of a song page or an explanation with vis-network. The data comes from
// the page's <script type="application/json" id="graph-data"> block: pages carry no
// inline code, so the Content-Security-Policy can forbid it.
(function () {
  "use strict";
  var block = document.getElementById("graph-data");
  var container = document.getElementById("graph");
  if (!block || !container || typeof vis === "undefined") {
    return;
  }
  var data = JSON.parse(block.textContent);
  var nodes = new vis.DataSet(data.nodes);
  var edges = new vis.DataSet(data.edges);
  var network = new vis.Network(container, {nodes: nodes, edges: edges}, data.options);
  // Mark the container once the nodes are drawn: the browser test reads it.
  network.on("afterDrawing", function () {
    container.setAttribute("data-drawn-nodes", String(network.body.nodeIndices.length));
  });
  network.on("doubleClick", function (params) {
    var id = params.nodes.length ? String(params.nodes[0]) : "";
    if (id.indexOf("Song:") === 0) {
      window.location.href = data.songUrl.replace("__ID__", encodeURIComponent(id.slice(5)));
    }
  });
})();
