// The README's five-minute tour, run as written, from "What it cost" on (test/e2e/readme-tour/tour.ts
// says how; readme-tour.test.ts runs the blocks before).
import { tourTests } from "./readme-tour/tour.js";

tourTests("later");
