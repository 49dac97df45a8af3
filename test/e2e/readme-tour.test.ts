// The README's five-minute tour, run as written, up to "What it cost" (test/e2e/readme-tour/tour.ts
// says how; readme-tour-later.test.ts runs the rest).
import { tourTests } from "./readme-tour/tour.js";

tourTests("early");
