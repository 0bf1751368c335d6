/// <reference lib="webworker" />
// A worker of the app's own (not the store worker): reads online vectors of a store that a page has open.
import { openOnlineReader } from '../../src/index.ts';
import { onDemandA } from './ondemand-a.ts';

self.onmessage = async (event: MessageEvent<{ store: string; entities: Record<string, unknown>[]; requestData: Record<string, unknown> }>) => {
  try {
    const reader = await openOnlineReader({ name: event.data.store, onDemand: onDemandA });
    const view = await reader.getFeatureView('v', 1);
    const vectors = await view.getFeatureVectors(event.data.entities, { requestData: event.data.requestData, transformed: true });
    const group = await reader.getFeatureGroup('sensor', 1);
    const rows = await group.getOnline(event.data.entities);
    reader.close();
    self.postMessage({ vectors, rows });
  } catch (error) {
    self.postMessage({ error: `${(error as Error).name}: ${(error as Error).message}` });
  }
};
