// The editor's "deliveries" sidebar tab: the queued requests, dead letters and recent deliveries of one deployed web
// service out node, from the admin endpoints web-service-out/deliveries (src/nodes/web-service-out/deliveries.ts),
// with its actions (retry now, replay, discard). Updated when the tab shows, when another node is chosen and when the
// runtime says the node changed (comms topic ccaas-web-service/deliveries/<node id>): it never polls. Loaded by
// nodes/web-service-out.html after ccaas-editor.js. Plain ES5 and jQuery; every text from the runtime goes in with
// .text().
(function () {
    if (window.CcaasDeliveriesSidebar || !window.CcaasEditor || !RED.sidebar) {
        return;
    }
    var TAB = 'ccaas-deliveries';
    var TYPE = 'web-service-out';
    var BASE = 'web-service-out/deliveries';
    var t = window.CcaasEditor.catalog(TYPE);
    var shownId = null;
    var detailFetch = 0;
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
        $('<b>', { style: 'flex: 1;' })
            .text(t('deliveries.' + titleKey))
            .appendTo(head);
        (buttons || []).forEach(function (button) {
            head.append(button);
        });
        var list = $('<div>', { class: 'ccaas-deliveries-list' }).appendTo(box);
        return list;
    }

    function button(cls, labelKey, onclick) {
        return $('<button>', { type: 'button', class: 'red-ui-button red-ui-button-small ' + cls })
            .text(t('deliveries.' + labelKey))
            .on('click', function (event) {
                event.stopPropagation();
                onclick();
            });
    }

    var queuedList = section('queued', 'queued');
    var deadList = section('dead-letters', 'deadLetters', [
        button('ccaas-deliveries-replay-all', 'replayAll', function () {
            act('replay-all');
        }),
        button('ccaas-deliveries-discard-all', 'discardAll', function () {
            act('discard-all');
        }),
    ]);
    var deliveredList = section('delivered', 'delivered');

    function time(ms) {
        return ms === undefined || ms === null ? '' : new Date(ms).toLocaleTimeString();
    }

    function problem(xhr) {
        var answer = xhr && xhr.responseJSON;
        if (answer && answer.error) {
            return answer.error;
        }
        return xhr ? xhr.status + ' ' + xhr.statusText : '';
    }

    function notifyFailure(xhr) {
        RED.notify(t('deliveries.failed', { problem: problem(xhr) }), 'error');
    }

    function url(parts) {
        return [BASE].concat(parts.map(encodeURIComponent)).join('/');
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
        if (!shownId || !seen[shownId]) {
            shownId = entries.length > 0 ? entries[0].id : null;
        }
        chooser.empty();
        entries.forEach(function (entry) {
            $('<option>').val(entry.id).text(entry.label).appendTo(chooser);
        });
        if (entries.length === 0) {
            $('<option>').val('').text(t('deliveries.noNodes')).appendTo(chooser);
        }
        chooser.val(shownId || '');
    }

    function clearLists() {
        [queuedList, deadList, deliveredList].forEach(function (list) {
            list.empty();
        });
    }

    function empty(list) {
        $('<div>', { class: 'ccaas-deliveries-empty', style: 'font-style: italic; opacity: 0.7; padding: 2px 0;' }).text(t('deliveries.none')).appendTo(list);
    }

    function row(list, item, parts, buttons) {
        var line = $('<div>', {
            class: 'ccaas-deliveries-row',
            style: 'display: flex; align-items: center; gap: 6px; padding: 3px 0; cursor: pointer; border-bottom: 1px dotted var(--red-ui-secondary-border-color, #eee);',
        })
            .attr('data-key', item.key)
            .appendTo(list);
        var text = $('<span>', { class: 'ccaas-deliveries-row-text', style: 'flex: 1; min-width: 0; overflow-wrap: anywhere;' }).appendTo(line);
        parts.forEach(function (part, index) {
            if (part === undefined || part === null || part === '') {
                return;
            }
            if (index > 0 && text.children().length > 0) {
                text.append(document.createTextNode(' · '));
            }
            $('<span>').text(String(part)).appendTo(text);
        });
        (buttons || []).forEach(function (b) {
            line.append(b);
        });
        line.on('click', function () {
            toggleDetail(item.key, line);
        });
        if (opened && opened.key === item.key) {
            opened.element.insertAfter(line);
        }
        return line;
    }

    function trigger(item) {
        return item.event || item.topic || '';
    }

    function render(detail) {
        var metrics = detail.metrics || {};
        summary.text(
            t('deliveries.summary', {
                queued: detail.queued ? detail.queued.length : 0,
                inFlight: detail.inFlight || 0,
                deadLetters: detail.deadLetterList ? detail.deadLetterList.length : 0,
                delivered: metrics.delivered || 0,
                failed: metrics.failed || 0,
                p95: metrics.p95Ms === undefined ? '-' : Math.round(metrics.p95Ms) + ' ms',
            }),
        );
        if (opened) {
            opened.element.detach();
        }
        var keys = {};
        clearLists();
        (detail.queued || []).forEach(function (item) {
            keys[item.key] = true;
            var buttons = [];
            if (item.nextAttemptAt !== undefined && !item.inFlight) {
                buttons.push(
                    button('ccaas-deliveries-retry', 'retryNow', function () {
                        act(item.key + '/retry');
                    }),
                );
            }
            row(
                queuedList,
                item,
                [
                    item.callId,
                    trigger(item),
                    t('deliveries.attempts', { count: item.attempts }),
                    item.inFlight
                        ? t('deliveries.sending')
                        : item.nextAttemptAt !== undefined
                          ? t('deliveries.nextRetry', { time: time(item.nextAttemptAt) })
                          : '',
                    item.code ? (item.status ? item.code + ' ' + item.status : item.code) : '',
                ],
                buttons,
            );
        });
        (detail.deadLetterList || []).forEach(function (item) {
            keys[item.key] = true;
            row(
                deadList,
                item,
                [
                    item.callId,
                    trigger(item),
                    item.status ? item.code + ' ' + item.status : item.code,
                    t('deliveries.attempts', { count: item.attempts }),
                    t('deliveries.failedAt', { time: time(item.failedAt) }),
                ],
                [
                    button('ccaas-deliveries-replay', 'replay', function () {
                        act(item.key + '/replay');
                    }),
                    button('ccaas-deliveries-discard', 'discard', function () {
                        act(item.key + '/discard');
                    }),
                ],
            );
        });
        (detail.delivered || []).forEach(function (item) {
            row(deliveredList, item, [
                item.callId,
                trigger(item),
                item.status,
                t('deliveries.deliveredAt', { time: time(item.deliveredAt), timeMs: item.timeMs }),
            ]);
        });
        [queuedList, deadList, deliveredList].forEach(function (list) {
            if (list.children('.ccaas-deliveries-row').length === 0) {
                empty(list);
            }
        });
        $('#ccaas-deliveries-dead-letters button.ccaas-deliveries-replay-all, #ccaas-deliveries-dead-letters button.ccaas-deliveries-discard-all').prop(
            'disabled',
            !detail.deadLetterList || detail.deadLetterList.length === 0,
        );
        // A delivered request has no detail to open (it left the outbox); a queued one or a dead letter keeps its.
        if (opened && !keys[opened.key]) {
            opened.element.remove();
            opened = null;
        }
    }

    function toggleDetail(key, line) {
        if (opened && opened.key === key) {
            opened.element.remove();
            opened = null;
            return;
        }
        if (opened) {
            opened.element.remove();
        }
        var element = $('<div>', { class: 'ccaas-deliveries-detail', style: 'padding: 4px 0 8px 8px;' }).insertAfter(line);
        opened = { key: key, element: element };
        $.ajax({ url: url([shownId, key]), dataType: 'json' })
            .done(function (answer) {
                var letter = answer.deadLetter || {};
                var shown = { request: answer.request, response: letter.response, attempts: letter.tries };
                if (answer.error) {
                    shown.error = answer.error;
                }
                element.empty().append(RED.utils.createObjectElement(shown));
            })
            .fail(function (xhr) {
                element.empty().append($('<span>', { class: 'red-ui-text-error' }).text(problem(xhr)));
            });
    }

    function showNothing(textKey) {
        summary.text(t('deliveries.' + textKey));
        if (opened) {
            opened.element.remove();
            opened = null;
        }
        clearLists();
    }

    function fetchDetail() {
        if (!shownId) {
            showNothing('noNodes');
            return;
        }
        var id = shownId;
        var asked = ++detailFetch;
        $.ajax({ url: url([id]), dataType: 'json' })
            .done(function (detail) {
                if (asked === detailFetch && id === shownId) {
                    render(detail);
                }
            })
            .fail(function (xhr) {
                if (asked !== detailFetch || id !== shownId) {
                    return;
                }
                if (xhr.status === 404) {
                    showNothing('notDeployed');
                } else {
                    showNothing('none');
                    summary.text(t('deliveries.failed', { problem: problem(xhr) }));
                }
            });
    }

    function refresh() {
        $.ajax({ url: BASE, dataType: 'json' })
            .done(function (answer) {
                fillChooser(answer.nodes);
            })
            .fail(function () {
                fillChooser([]);
            })
            .always(fetchDetail);
    }

    function visible() {
        return content.is(':visible');
    }

    function act(path) {
        if (!shownId) {
            return;
        }
        $.ajax({ url: url([shownId]) + '/' + path.split('/').map(encodeURIComponent).join('/'), type: 'POST', dataType: 'json' })
            .done(function (answer) {
                if (answer && answer.error) {
                    RED.notify(t('deliveries.failed', { problem: answer.error }), 'warning');
                }
                fetchDetail();
            })
            .fail(notifyFailure);
    }

    chooser.on('change', function () {
        var id = chooser.val();
        if (id && id !== shownId) {
            shownId = id;
            if (opened) {
                opened.element.remove();
                opened = null;
            }
            fetchDetail();
        }
    });

    RED.events.on('view:selection-changed', function (selection) {
        var nodes = (selection && selection.nodes) || [];
        if (nodes.length !== 1 || nodes[0].type !== TYPE || nodes[0].id === shownId) {
            return;
        }
        shownId = nodes[0].id;
        if (opened) {
            opened.element.remove();
            opened = null;
        }
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
        if (id === shownId) {
            fetchDetail();
            return;
        }
        var known =
            chooser.find('option').filter(function () {
                return this.value === id;
            }).length > 0;
        if (!known && !(message && message.removed)) {
            refresh();
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
