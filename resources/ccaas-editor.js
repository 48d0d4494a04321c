// Shared by the editor files of @ccaas/node-red-web-service: each node's .html loads it with a <script src> before
// its own code, so the rules they have in common are written once. Plain ES5 and jQuery: the editors of Node-RED 4
// and 5 run it as it is.
(function () {
    if (window.CcaasEditor) { return; }
    var MODULE = '@ccaas/node-red-web-service';
    var TYPES = ['call-event-in', 'criteria-filter', 'placeholder-template', 'web-service-out', 'ccaas-oauth2'];

    // RED._ only sees a node's catalog through its namespace (module/node-set); helpers outside a node need it.
    function catalog(type) {
        return function (key, substitutions) {
            return RED._(MODULE + '/' + type + ':' + type + '.' + key, substitutions);
        };
    }

    // The runtime parses with the same Mustache build (served as ccaas-web-service/mustache.js), so what passes
    // here parses on deploy.
    function templateProblem(text) {
        if (typeof Mustache === 'undefined') { return null; }
        try { Mustache.parse(text || ''); return null; } catch (err) { return err.message; }
    }

    // While a node's dialog is open its secrets are the dialog's inputs; otherwise the editor knows a value typed
    // in this session, or has_<field> for one the runtime keeps.
    var editing = {};
    function beginEditing(node, inputPrefix) { editing[node.id] = inputPrefix; }
    function endEditing(node) { delete editing[node.id]; }
    function secretPresent(node, field) {
        if (editing[node.id]) { return !!$('#' + editing[node.id] + field).val(); }
        var credentials = node.credentials || {};
        return !!(credentials[field] || credentials['has_' + field]);
    }

    // The runtime's constants, fetched once at editor load. A `validate` in `defaults` must answer synchronously:
    // until they arrive a rule that needs them passes, and every node is validated again once they are here.
    var constants = null;
    $.getJSON('ccaas-web-service/editor-constants').done(function (data) {
        constants = data;
        constants.headerNamePattern = new RegExp(data.headerName);
        if (!RED.nodes || !RED.editor || !RED.editor.validateNode) { return; }
        function revalidate(node) { if (TYPES.indexOf(node.type) >= 0) { RED.editor.validateNode(node); } }
        RED.nodes.eachConfig(revalidate);
        RED.nodes.eachNode(revalidate);
        if (RED.view && RED.view.redraw) { RED.view.redraw(true); }
    });
    function constant(name) { return constants ? constants[name] : undefined; }
    function headerNameValid(value) {
        var pattern = constant('headerNamePattern');
        return !pattern || pattern.test(String(value).trim());
    }

    window.CcaasEditor = {
        catalog: catalog,
        templateProblem: templateProblem,
        beginEditing: beginEditing,
        endEditing: endEditing,
        secretPresent: secretPresent,
        constant: constant,
        headerNameValid: headerNameValid
    };
})();
