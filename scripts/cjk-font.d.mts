/** The font family name to use in SVG `font-family`. */
export declare const CJK_FONT: string;
/** Writes a private fonts.conf and sets FONTCONFIG_FILE; returns the font family name. */
export declare function useCjkFont(): string;
