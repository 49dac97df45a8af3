/** The Berth console in the browser: Preact, routed by preact-iso under /console. */
import { render } from "preact";
import { App } from "./app.js";

const root = document.getElementById("app");
if (root !== null) render(<App />, root);
