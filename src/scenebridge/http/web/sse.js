// Server-sent events over fetch (EventSource cannot POST): calls onEvent(name, data, arrivedMs) per event.
"use strict";
window.sbReadEvents = async function (response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      // Wall-clock ms with sub-ms precision: the server stamps its events with its own wall clock (same machine).
      const arrived = performance.timeOrigin + performance.now();
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trim());
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")), arrived);
    }
  }
};
