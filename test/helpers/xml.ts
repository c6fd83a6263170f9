/** The strict XML parser lives in src/report/xml.ts (the diagram exporter uses it too). */
export * from '../../src/report/xml.js';
