// Shared by the editor files of @ccaas/node-red-web-service: each node's .html loads it with a <script src> before
// its own code, so the rules they have in common are written once. Plain ES5 and jQuery: the editors of Node-RED 4
// and 5 run it as it is.
(function () {
    if (window.CcaasEditor) {
        return;
    }
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
        if (typeof Mustache === 'undefined') {
            return null;
        }
        try {
            Mustache.parse(text || '');
            return null;
        } catch (err) {
            return err.message;
        }
    }

    // While a node's dialog is open its secrets are the dialog's inputs; otherwise the editor knows a value typed
    // in this session, or has_<field> for one the runtime keeps.
    var editing = {};
    function beginEditing(node, inputPrefix) {
        editing[node.id] = inputPrefix;
    }
    function endEditing(node) {
        delete editing[node.id];
    }
    function secretPresent(node, field) {
        if (editing[node.id]) {
            return !!$('#' + editing[node.id] + field).val();
        }
        var credentials = node.credentials || {};
        return !!(credentials[field] || credentials['has_' + field]);
    }

    // The runtime's constants, fetched once at editor load. A `validate` in `defaults` must answer synchronously:
    // until they arrive a rule that needs them passes, and every node is validated again once they are here.
    var constants = null;
    function revalidateAll() {
        if (!RED.nodes || !RED.editor || !RED.editor.validateNode) {
            return;
        }
        function revalidate(node) {
            if (TYPES.indexOf(node.type) >= 0) {
                RED.editor.validateNode(node);
            }
        }
        RED.nodes.eachConfig(revalidate);
        RED.nodes.eachNode(revalidate);
        if (RED.view && RED.view.redraw) {
            RED.view.redraw(true);
        }
    }
    $.getJSON('ccaas-web-service/editor-constants').done(function (data) {
        constants = data;
        constants.headerNamePattern = new RegExp(data.headerName);
        revalidateAll();
    });
    function constant(name) {
        return constants ? constants[name] : undefined;
    }
    function headerNameValid(value) {
        var pattern = constant('headerNamePattern');
        return !pattern || pattern.test(String(value).trim());
    }

    // What only the runtime's compilers can judge: a validator takes the runtime's answer to the same question, or
    // asks (POST) and passes meanwhile; the answer validates every node again. Answers are kept by question, and
    // forgotten all at once past MAX_ANSWERS so an editor open for days stays small.
    var MAX_ANSWERS = 500;
    var answers = {};
    var answerCount = 0;
    var asking = {};
    function runtimeAnswer(route, question) {
        var key = route + ' ' + JSON.stringify(question);
        if (Object.prototype.hasOwnProperty.call(answers, key)) {
            return answers[key];
        }
        if (!asking[key]) {
            asking[key] = true;
            $.ajax({ url: route, type: 'POST', contentType: 'application/json', data: JSON.stringify(question) })
                .done(function (answer) {
                    if (answerCount >= MAX_ANSWERS) {
                        answers = {};
                        answerCount = 0;
                    }
                    answers[key] = answer;
                    answerCount++;
                    revalidateAll();
                })
                // A read-only user may not run the check (403): the deploy, by a user who may, still does.
                .fail(function (xhr) {
                    if (xhr.status === 403) {
                        answers[key] = null;
                        answerCount++;
                    }
                })
                .always(function () {
                    delete asking[key];
                });
        }
        return undefined;
    }

    window.CcaasEditor = {
        runtimeAnswer: runtimeAnswer,
        catalog: catalog,
        templateProblem: templateProblem,
        beginEditing: beginEditing,
        endEditing: endEditing,
        secretPresent: secretPresent,
        constant: constant,
        headerNameValid: headerNameValid,
    };
})();
