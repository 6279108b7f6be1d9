export const encode = (text) =>
  text.replace(/(.)\1+/gs, (run, char) => `${run.length}${char}`);

export const decode = (text) => {
  if (/\d$/.test(text)) {
    throw new Error('invalid encoding');
  }
  return text.replace(/(\d+)(\D)/g, (_, count, char) => char.repeat(Number(count)));
};
