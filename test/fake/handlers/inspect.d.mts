/** Types for the fake's inspect handler module (imported by the inspect flow test). */
export declare const SECTIONS: [string, string[]][];
export declare const handlers: unknown[];
