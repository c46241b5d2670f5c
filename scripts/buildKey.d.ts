export declare const BUILT_FILE: string;
export declare function buildKey(root: string): string;
export declare function isBuilt(root: string): boolean;
