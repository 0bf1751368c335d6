/// <reference lib="webworker" />
// The deployment benchmark's bare worker: posts every message straight back (the raw worker round trip).
self.onmessage = (event: MessageEvent<Float32Array>) => {
  self.postMessage(event.data);
};
