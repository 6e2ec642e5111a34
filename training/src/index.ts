// Model definitions, backend selection and the training loop arrive with the training issue.
export {};
