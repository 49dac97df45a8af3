/** Control plane <-> agent messages: schemas, types and versions, shared by both sides. */
export * from "./messages.js";
