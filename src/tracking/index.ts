export * from './mlflow-client';
