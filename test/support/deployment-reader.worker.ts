/// <reference lib="webworker" />
// Another context of the app (standing for a second tab): serves a deployment through an online reader, without
// the store worker, and follows the alias when the owning tab moves it.
import * as Comlink from 'comlink';
import { openOnlineReader, type Deployment, type OnlineReader } from '../../src/index.ts';
import { installErrorTransfer } from '../../src/rpc/transfer.ts';

let reader: OnlineReader | null = null;
let deployment: Deployment | null = null;

installErrorTransfer();
Comlink.expose({
  async open(store: string) {
    reader = await openOnlineReader({ name: store });
    deployment = await reader.deployment('rain', { alias: 'champion' });
  },
  predict(city: string) {
    return deployment!.predict({ city });
  },
  close() {
    reader?.close();
  },
});
