// The editor's "deliveries" sidebar tab: the queued requests, dead letters and recent deliveries of one deployed web
// service out node, or of all of them, from the admin endpoints web-service-out/deliveries
// (src/nodes/web-service-out/deliveries.ts), with their actions (retry now, replay, discard). Updated when the tab
// shows, when another node is chosen and when the runtime says a node changed (comms topic
// ccaas-web-service/deliveries/<node id>): it never polls. Loaded by nodes/web-service-out.html after ccaas-editor.js.
// Plain ES5 and jQuery; every text from the runtime goes in with .text().
(function () {
    if (window.CcaasDeliveriesSidebar || !window.CcaasEditor || !RED.sidebar) {
        return;
    }
    var TAB = 'ccaas-deliveries';
    var TYPE = 'web-service-out';
    var BASE = 'web-service-out/deliveries';
    // The chooser's value for every deployed node at once.
    var ALL = '*';
    var t = window.CcaasEditor.catalog(TYPE);
    var shownId = null;
    // Each fetch of the shown view is numbered: an answer to an older one is not drawn.
    var fetchNumber = 0;
    // A change announced while a fetch runs is fetched once after it, not once per message.
    var fetching = false;
    var fetchAgain = false;
    // The row opened by a click stays open when the lists are drawn again.
    var opened = null;

    var content = $('<div>', { class: 'ccaas-deliveries', style: 'height: 100%; overflow-y: auto; padding: 8px 10px; box-sizing: border-box;' });
    var chooserRow = $('<div>', { style: 'display: flex; align-items: center; gap: 6px; margin-bottom: 8px;' }).appendTo(content);
    $('<label>', { for: 'ccaas-deliveries-node', style: 'margin: 0;' }).text(t('deliveries.node')).appendTo(chooserRow);
    var chooser = $('<select>', { id: 'ccaas-deliveries-node', style: 'flex: 1; min-width: 0;' }).appendTo(chooserRow);
    var summary = $('<div>', { id: 'ccaas-deliveries-summary', class: 'red-ui-help', style: 'margin-bottom: 8px;' }).appendTo(content);

    function section(id, titleKey, buttons) {
        var box = $('<div>', { id: 'ccaas-deliveries-' + id, class: 'ccaas-deliveries-section', style: 'margin-bottom: 12px;' }).appendTo(content);
        var head = $('<div>', {
            style: 'display: flex; align-items: center; gap: 4px; border-bottom: 1px solid var(--red-ui-secondary-border-color, #ddd); padding-bottom: 2px;',
        }).appendTo(box);
        var title = $('<b>', { style: 'flex: 1;' }).appendTo(head);
        $('<span>')
            .text(t('deliveries.' + titleKey))
            .appendTo(title);
        // "100 of 5,000" when the runtime sent the first rows of a longer list.
        $('<span>', { class: 'ccaas-deliveries-shown', style: 'font-weight: normal; opacity: 0.7; margin-left: 6px;' }).appendTo(title);
        (buttons || []).forEach(function (button) {
            head.append(button);
        });
        return { box: box, list: $('<div>', { class: 'ccaas-deliveries-list' }).appendTo(box) };
    }

    function button(cls, labelKey, onclick) {
        return $('<button>', { type: 'button', class: 'red-ui-button red-ui-button-small ' + cls })
            .text(t('deliveries.' + labelKey))
            .on('click', function (event) {
                event.stopPropagation();
                onclick();
            });
    }

    var queuedSection = section('queued', 'queued');
    var deadSection = section('dead-letters', 'deadLetters', [
        button('ccaas-deliveries-replay-all', 'replayAll', function () {
            actOnAll('replay-all');
        }),
        button('ccaas-deliveries-discard-all', 'discardAll', function () {
            actOnAll('discard-all');
        }),
    ]);
    var deliveredSection = section('delivered', 'delivered');
    var sections = [queuedSection, deadSection, deliveredSection];

    function time(ms) {
        return ms === undefined || ms === null ? '' : new Date(ms).toLocaleTimeString();
    }

    function problem(xhr) {
        var answer = xhr && xhr.responseJSON;
        if (answer && answer.error) {
            return answer.error;
        }
        if (xhr && xhr.status === 403) {
            return t('deliveries.forbidden');
        }
        return xhr ? xhr.status + ' ' + xhr.statusText : '';
    }

    function url(parts) {
        return [BASE].concat(parts.map(encodeURIComponent)).join('/');
    }

    function getJson(address) {
        return $.ajax({ url: address, dataType: 'json' });
    }

    // Every web service out node of the workspace, and any deployed one the workspace does not have (yet).
    function fillChooser(deployed) {
        var entries = [];
        var seen = {};
        RED.nodes.eachNode(function (node) {
            if (node.type === TYPE) {
                entries.push({ id: node.id, label: node.name || node.id });
                seen[node.id] = true;
            }
        });
        (deployed || []).forEach(function (node) {
            if (!seen[node.id]) {
                entries.push({ id: node.id, label: node.name || node.id });
                seen[node.id] = true;
            }
        });
        if (shownId !== ALL && (!shownId || !seen[shownId])) {
            shownId = entries.length > 0 ? entries[0].id : null;
        }
        chooser.empty();
        if (entries.length > 1 || shownId === ALL) {
            $('<option>').val(ALL).text(t('deliveries.allNodes')).appendTo(chooser);
        }
        entries.forEach(function (entry) {
            $('<option>').val(entry.id).text(entry.label).appendTo(chooser);
        });
        if (entries.length === 0) {
            $('<option>').val('').text(t('deliveries.noNodes')).appendTo(chooser);
        }
        chooser.val(shownId || '');
    }

    function clearLists() {
        sections.forEach(function (part) {
            part.list.empty();
            part.box.find('.ccaas-deliveries-shown').text('');
        });
    }

    function closeDetail() {
        if (opened) {
            opened.element.remove();
            opened = null;
        }
    }

    function empty(list) {
        $('<div>', { class: 'ccaas-deliveries-empty', style: 'font-style: italic; opacity: 0.7; padding: 2px 0;' }).text(t('deliveries.none')).appendTo(list);
    }

    // A request that moves from one list to another (replayed, then delivered) is another row: its detail closes.
    function sameRow(a, item, kind) {
        return a && a.key === item.key && a.nodeId === item.nodeId && a.kind === kind;
    }

    function row(kind, list, item, parts, buttons) {
        var line = $('<div>', {
            class: 'ccaas-deliveries-row',
            style: 'display: flex; align-items: center; gap: 6px; padding: 3px 0; cursor: pointer; border-bottom: 1px dotted var(--red-ui-secondary-border-color, #eee);',
        })
            .attr('data-key', item.key)
            .attr('data-node', item.nodeId)
            .appendTo(list);
        var text = $('<span>', { class: 'ccaas-deliveries-row-text', style: 'flex: 1; min-width: 0; overflow-wrap: anywhere;' }).appendTo(line);
        parts.forEach(function (part) {
            if (part === undefined || part === null || part === '') {
                return;
            }
            if (text.children().length > 0) {
                text.append(document.createTextNode(' · '));
            }
            $('<span>').text(String(part)).appendTo(text);
        });
        (buttons || []).forEach(function (b) {
            line.append(b);
        });
        line.on('click', function () {
            toggleDetail(kind, item, line);
        });
        if (sameRow(opened, item, kind)) {
            opened.element.insertAfter(line);
        }
        return line;
    }

    function address(item) {
        return item.method && item.url ? item.method + ' ' + item.url : '';
    }

    function outcome(item) {
        if (!item.code) {
            return item.status !== undefined ? String(item.status) : '';
        }
        return item.status !== undefined ? item.code + ' ' + item.status : item.code;
    }

    // The parts of a row every list starts with: the node (when all are shown), the call, the trigger, the target.
    function leading(view, item) {
        return [view.multi ? item.nodeLabel : '', item.callId, item.event || item.topic || '', address(item)];
    }

    function shownOf(part, shown, total) {
        part.box.find('.ccaas-deliveries-shown').text(total > shown ? t('deliveries.shownOf', { shown: shown, total: total }) : '');
    }

    function render(view) {
        var counts = view.counts;
        summary.text(
            t(view.multi ? 'deliveries.summaryAll' : 'deliveries.summary', {
                queued: counts.queued,
                inFlight: counts.inFlight,
                deadLetters: counts.deadLetters,
                delivered: counts.delivered,
                failed: counts.failed,
                p95: counts.p95Ms === undefined ? '-' : Math.round(counts.p95Ms) + ' ms',
            }),
        );
        if (opened) {
            opened.element.detach();
        }
        clearLists();
        view.queued.forEach(function (item) {
            var buttons = [];
            if (item.nextAttemptAt !== undefined && !item.inFlight) {
                buttons.push(
                    button('ccaas-deliveries-retry', 'retryNow', function () {
                        act(item.nodeId, item.key + '/retry');
                    }),
                );
            }
            row(
                'queued',
                queuedSection.list,
                item,
                leading(view, item).concat([
                    t('deliveries.attempts', { count: item.attempts }),
                    item.inFlight
                        ? t('deliveries.sending')
                        : item.nextAttemptAt !== undefined
                          ? t('deliveries.nextRetry', { time: time(item.nextAttemptAt) })
                          : '',
                    outcome(item),
                ]),
                buttons,
            );
        });
        view.deadLetters.forEach(function (item) {
            row(
                'dead',
                deadSection.list,
                item,
                leading(view, item).concat([
                    outcome(item),
                    t('deliveries.attempts', { count: item.attempts }),
                    t('deliveries.failedAt', { time: time(item.failedAt) }),
                ]),
                [
                    button('ccaas-deliveries-replay', 'replay', function () {
                        act(item.nodeId, item.key + '/replay');
                    }),
                    button('ccaas-deliveries-discard', 'discard', function () {
                        act(item.nodeId, item.key + '/discard');
                    }),
                ],
            );
        });
        view.delivered.forEach(function (item) {
            row(
                'delivered',
                deliveredSection.list,
                item,
                leading(view, item).concat([
                    outcome(item),
                    t('deliveries.attempts', { count: item.attempts }),
                    t('deliveries.deliveredAt', { time: time(item.deliveredAt), timeMs: item.timeMs }),
                ]),
            );
        });
        shownOf(queuedSection, view.queued.length, counts.queued);
        shownOf(deadSection, view.deadLetters.length, counts.deadLetters);
        sections.forEach(function (part) {
            if (part.list.children('.ccaas-deliveries-row').length === 0) {
                empty(part.list);
            }
        });
        deadSection.box.find('button.ccaas-deliveries-replay-all, button.ccaas-deliveries-discard-all').prop('disabled', counts.deadLetters === 0);
        // A row that is no longer listed (replayed, discarded, dropped from the ring) took its detail with it: no row
        // put the detached detail back.
        if (opened && !$.contains(content[0], opened.element[0])) {
            closeDetail();
        }
    }

    function toggleDetail(kind, item, line) {
        if (sameRow(opened, item, kind)) {
            closeDetail();
            return;
        }
        closeDetail();
        var element = $('<div>', { class: 'ccaas-deliveries-detail', style: 'padding: 4px 0 8px 8px;' }).insertAfter(line);
        opened = { kind: kind, key: item.key, nodeId: item.nodeId, element: element };
        getJson(url([item.nodeId, item.key]))
            .done(function (answer) {
                var letter = answer.deadLetter || {};
                var shown = { request: answer.request };
                var response = letter.response || answer.delivered;
                if (response) {
                    shown.response = response;
                }
                if (letter.tries) {
                    shown.attempts = letter.tries;
                }
                if (answer.error) {
                    shown.error = answer.error;
                }
                element.empty().append(RED.utils.createObjectElement(shown));
            })
            .fail(function (xhr) {
                element.empty().append($('<span>', { class: 'red-ui-text-error' }).text(problem(xhr)));
            });
    }

    function showNothing(textKey, problemText) {
        closeDetail();
        clearLists();
        summary.text(problemText === undefined ? t('deliveries.' + textKey) : t('deliveries.failed', { problem: problemText }));
    }

    // Each item learns which node it is of, so that its actions and its detail go to that node.
    function tagged(items, node) {
        return (items || []).map(function (item) {
            return $.extend({ nodeId: node.id, nodeLabel: node.name || node.id }, item);
        });
    }

    function viewOfOne(detail) {
        var metrics = detail.metrics || {};
        return {
            multi: false,
            counts: {
                queued: detail.queuedCount || 0,
                inFlight: detail.inFlight || 0,
                deadLetters: detail.deadLetters || 0,
                delivered: metrics.delivered || 0,
                failed: metrics.failed || 0,
                p95Ms: metrics.p95Ms,
            },
            queued: tagged(detail.queued, detail),
            deadLetters: tagged(detail.deadLetterList, detail),
            delivered: tagged(detail.delivered, detail),
        };
    }

    // All nodes: each node's lists one after the other for the queue (each node's order is its own), the dead
    // letters by time of failure and the deliveries newest first, as one node's are.
    function viewOfAll(details) {
        var view = { multi: true, counts: { queued: 0, inFlight: 0, deadLetters: 0, delivered: 0, failed: 0 }, queued: [], deadLetters: [], delivered: [] };
        details.forEach(function (detail) {
            var one = viewOfOne(detail);
            ['queued', 'inFlight', 'deadLetters', 'delivered', 'failed'].forEach(function (name) {
                view.counts[name] += one.counts[name];
            });
            view.queued = view.queued.concat(one.queued);
            view.deadLetters = view.deadLetters.concat(one.deadLetters);
            view.delivered = view.delivered.concat(one.delivered);
        });
        view.deadLetters.sort(function (a, b) {
            return a.failedAt - b.failedAt;
        });
        view.delivered.sort(function (a, b) {
            return b.deliveredAt - a.deliveredAt;
        });
        return view;
    }

    function loadView(id) {
        var done = $.Deferred();
        if (id !== ALL) {
            getJson(url([id]))
                .done(function (detail) {
                    done.resolve(viewOfOne(detail));
                })
                .fail(done.reject);
            return done.promise();
        }
        getJson(BASE)
            .done(function (answer) {
                var asked = (answer.nodes || []).map(function (node) {
                    return getJson(url([node.id]));
                });
                if (asked.length === 0) {
                    done.resolve(viewOfAll([]));
                    return;
                }
                $.when
                    .apply($, asked)
                    .done(function () {
                        var answers = asked.length === 1 ? [arguments] : Array.prototype.slice.call(arguments);
                        done.resolve(
                            viewOfAll(
                                answers.map(function (reply) {
                                    return reply[0];
                                }),
                            ),
                        );
                    })
                    .fail(done.reject);
            })
            .fail(done.reject);
        return done.promise();
    }

    function fetchShown() {
        if (!shownId) {
            showNothing('noNodes');
            return;
        }
        if (fetching) {
            fetchAgain = true;
            return;
        }
        fetching = true;
        var id = shownId;
        var asked = ++fetchNumber;
        loadView(id)
            .done(function (view) {
                if (asked === fetchNumber && id === shownId) {
                    render(view);
                }
            })
            .fail(function (xhr) {
                if (asked !== fetchNumber || id !== shownId) {
                    return;
                }
                if (xhr && xhr.status === 404) {
                    showNothing('notDeployed');
                } else {
                    showNothing('none', problem(xhr));
                }
            })
            .always(function () {
                fetching = false;
                if (fetchAgain) {
                    fetchAgain = false;
                    fetchShown();
                }
            });
    }

    function refresh() {
        getJson(BASE)
            .done(function (answer) {
                fillChooser(answer.nodes);
            })
            .fail(function () {
                fillChooser([]);
            })
            .always(fetchShown);
    }

    function visible() {
        return content.is(':visible');
    }

    function post(nodeId, path) {
        return $.ajax({ url: url([nodeId]) + '/' + path.split('/').map(encodeURIComponent).join('/'), type: 'POST', dataType: 'json' });
    }

    function reported(answer) {
        if (answer && answer.error) {
            RED.notify(t('deliveries.failed', { problem: answer.error }), 'warning');
        }
    }

    function act(nodeId, path) {
        post(nodeId, path)
            .done(reported)
            .fail(function (xhr) {
                RED.notify(t('deliveries.failed', { problem: problem(xhr) }), 'error');
            })
            .always(fetchShown);
    }

    // Replay all or discard all: of the shown node, or of each node that has dead letters when all are shown.
    function actOnAll(path) {
        var nodeIds = {};
        deadSection.list.children('.ccaas-deliveries-row').each(function () {
            nodeIds[$(this).attr('data-node')] = true;
        });
        var ids = shownId === ALL ? Object.keys(nodeIds) : shownId ? [shownId] : [];
        ids.forEach(function (nodeId) {
            act(nodeId, path);
        });
    }

    chooser.on('change', function () {
        var id = chooser.val();
        if (id && id !== shownId) {
            shownId = id;
            closeDetail();
            fetchShown();
        }
    });

    RED.events.on('view:selection-changed', function (selection) {
        var nodes = (selection && selection.nodes) || [];
        if (nodes.length !== 1 || nodes[0].type !== TYPE || nodes[0].id === shownId) {
            return;
        }
        shownId = nodes[0].id;
        closeDetail();
        if (visible()) {
            refresh();
        }
    });

    // Only a shown tab fetches; a hidden one fetches when it shows (onchange).
    RED.comms.subscribe('ccaas-web-service/deliveries/#', function (topic, message) {
        if (!visible()) {
            return;
        }
        var id = (message && message.id) || String(topic).split('/').pop();
        var known =
            chooser.find('option').filter(function () {
                return this.value === id;
            }).length > 0;
        if (!known && !(message && message.removed)) {
            refresh();
        } else if (id === shownId || shownId === ALL) {
            fetchShown();
        }
    });

    RED.sidebar.addTab({
        id: TAB,
        label: t('deliveries.label'),
        name: t('deliveries.name'),
        iconClass: 'fa fa-paper-plane',
        content: content,
        enableOnEdit: false,
        onchange: function () {
            refresh();
        },
    });
    window.CcaasDeliveriesSidebar = { refresh: refresh };
})();
