// Server-side chart export (PNG/SVG rendered by kaleido): a card's PNG/SVG button posts the chart's
// current figure to the dashboard's image route and saves the answer. See app/dashboard/exports.py.
(function () {
    document.addEventListener("click", function (event) {
        const button = event.target.closest && event.target.closest("button.image-export");
        if (!button) { return; }
        const graph = document.querySelector("#" + button.dataset.graph + " .js-plotly-plot");
        if (!graph || !graph.data) { return; }
        const config = JSON.parse((document.getElementById("_dash-config") || {}).textContent || "{}");
        const prefix = (config.requests_pathname_prefix || "/").replace(/\/$/, "");
        const fmt = button.dataset.format;
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
        fetch(prefix + button.dataset.route, {
            method: "POST",
            headers: {"Content-Type": "application/json"},
            body: JSON.stringify({figure: {data: graph.data, layout: graph.layout}, format: fmt,
                                  title: button.dataset.title}),
        }).then(function (response) {
            if (!response.ok) { return response.text().then(function (t) { throw new Error(t); }); }
            const name = (/filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "") || [])[1];
            return response.blob().then(function (blob) { return [blob, name || ("fabscope-chart." + fmt)]; });
        }).then(function (pair) {
            const link = document.createElement("a");
            link.href = URL.createObjectURL(pair[0]);
            link.download = pair[1];
            document.body.appendChild(link);
            link.click();
            link.remove();
            setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
        }).catch(function (error) {
            button.title = "export failed: " + error.message;
        }).finally(function () {
            button.disabled = false;
            button.removeAttribute("aria-busy");
        });
    });
})();
